/**
 * The SIP message layer (L0): the only entry point other folders import from.
 */
export { ERROR_TABLE, SipError, isSipError } from './errors.js';
export type { ErrorCode, SipErrorOptions } from './errors.js';
export type {
  AuthParams, ContactValue, CSeq, NameAddr, OtherUri, Params, RawHeader, SipMethod, SipUri, TelUri,
  Uri, Via,
} from './types.js';
export { SipMessage, SipRequest, SipResponse } from './message.js';
export type { SipMessageAny } from './message.js';
export {
  ParseError, findHeaderEnd, parseMessage, partialOf, scanContentLength,
} from './parser.js';
export type { ParseOptions } from './parser.js';
export { serializeMessage } from './serializer.js';
export {
  aorKey, formatUri, isSipUri, isTelUri, parseUri, percentDecode, telDigits, uriEquals,
} from './uri.js';
export { formatNameAddr, getTag, parseNameAddr } from './name-addr.js';
export { canonicalName, expandCompactName, isListHeader } from './headers/names.js';
export { splitList } from './headers/list.js';
export { formatParams, parseHeaderParams, quote, unquote } from './headers/params.js';
export { formatVia, parseVia, viaBranch, viaReceived, viaRport } from './headers/via.js';
export { MAX_CSEQ, formatCSeq, parseCSeq } from './headers/cseq.js';
export {
  MALFORMED_EXPIRES, MAX_DELTA_SECONDS, contactExpires, contactQ, parseContact,
} from './headers/contact.js';
export * from './headers/auth.js';
export { isToken } from './syntax.js';
export {
  createResponse, defaultReason, generateBranch, generateCallId, generateTag,
} from './builders.js';
export type { CreateResponseOptions } from './builders.js';
export { formatSubscriptionState, negotiateContentType, parseEvent } from './headers/event.js';
export type { EventValue, SubscriptionStateValue } from './headers/event.js';
