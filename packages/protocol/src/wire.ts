/**
 * @module @vigil/protocol/wire
 * The part of the protocol a client needs at run time, without the TypeBox frame schemas (frames.ts), whose
 * import alone costs a process several megabytes: channel patterns, codecs, the error registry and close codes,
 * filters, event kinds and the fleet's shapes. Types come from the main entry (`import type`), which costs nothing.
 * `@vigil/client` imports only this, so a client (`vigil agent` on every host, a browser bundle) never loads
 * TypeBox; the hub, which validates frames, imports the main entry.
 */
export * from './channels.js';
export * from './codec.js';
export * from './errors.js';
export * from './filter.js';
export * from './fleet.js';
export * from './kinds.js';
