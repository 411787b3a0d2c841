/**
 * The one error type of the body codecs (documents/ knows no SIP): a package that takes a body
 * maps `BAD_DOCUMENT` to 400 Bad Request (with the message as the reason) and
 * `DOCUMENT_TOO_LARGE` to 413 Request Entity Too Large. Code across modules tests `err.code`
 * (convention 7), or uses `isDocumentError`.
 */
export type DocumentErrorCode = 'BAD_DOCUMENT' | 'DOCUMENT_TOO_LARGE';

export class DocumentError extends Error {
  readonly code: DocumentErrorCode;

  constructor(code: DocumentErrorCode, message: string) {
    super(message);
    this.name = 'DocumentError';
    this.code = code;
  }
}

/** True for a DocumentError (by name and code, so it holds across realms and bundles). */
export function isDocumentError(err: unknown): err is DocumentError {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { name?: unknown; code?: unknown };
  return e.name === 'DocumentError' && (e.code === 'BAD_DOCUMENT' || e.code === 'DOCUMENT_TOO_LARGE');
}
