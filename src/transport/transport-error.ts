/**
 * Socket errors are normalized at this seam (ARCHITECTURE.md convention 10): whatever Node throws
 * (ECONNREFUSED, EADDRINUSE, EPIPE, ERR_STREAM_DESTROYED...) leaves the transport layer as
 * `SipError('TRANSPORT_ERROR')` with the errno code in the detail and the original as `cause`.
 */
import { isSipError, SipError } from '../sip/index.js';

export function toTransportError(err: unknown, context: string): SipError {
  if (isSipError(err)) return err;
  const code = typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'string'
    ? (err as { code: string }).code
    : err instanceof Error ? err.message : String(err);
  return new SipError('TRANSPORT_ERROR', { detail: `${context}: ${code}`, cause: err });
}
