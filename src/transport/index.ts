/**
 * The transport layer (L1): UDP and TCP listeners and connections, the stream framer, the
 * connection (flow) table with keep-alives. Other folders import from here only.
 */
export { TransportLayer, type TransportLayerOptions } from './transport-layer.js';
export { DEFAULT_TRANSPORT_LIMITS, type ListenSpec, type TransportHandler, type TransportLimits } from './types.js';
export { StreamFramer, type StreamFramerLimits, type StreamFramerSink, type StreamFramerState } from './stream-framer.js';
export { normalizeAddress, canonicalAddress } from './address.js';
