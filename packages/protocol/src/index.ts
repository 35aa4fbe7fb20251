/**
 * @module @vigil/protocol
 * Wire types, schemas, codecs, channel patterns, filters and the error registry of Vigil protocol v1. No I/O.
 */
import './native.js';

export * from './channels.js';
export * from './codec.js';
export * from './errors.js';
export * from './filter.js';
export * from './fleet.js';
export * from './frames.js';
export * from './kinds.js';
export type * from './rest.js';
