/**
 * @module native
 * Loads msgpackr's Node entry for its side effect: it turns on the native string extractor (`msgpackr-extract`,
 * when installed) for every Unpackr, the codec's included, which makes the hub decode string-heavy frames faster.
 * The main entry imports it; `@vigil/protocol/wire` does not, so a client skips the native module.
 */
import 'msgpackr';
