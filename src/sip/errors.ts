/**
 * The one error table: stable codes mapped to SIP statuses.
 *
 * Handlers throw `SipError`; only the router turns errors into responses. Code across modules
 * tests `err.code` (a stable string), never `instanceof`, so errors that cross a seam (drachtio,
 * storage, workers) keep their meaning.
 */

export const ERROR_TABLE = {
  // Message layer (RFC 3261 §7, §20, RFC 4475)
  BAD_REQUEST: { status: 400, reason: 'Bad Request' },
  MISSING_HEADER: { status: 400, reason: 'Bad Request' },
  BAD_HEADER: { status: 400, reason: 'Bad Request' },
  BAD_URI: { status: 400, reason: 'Bad Request' },
  BAD_START_LINE: { status: 400, reason: 'Bad Request' },
  BAD_CONTENT_LENGTH: { status: 400, reason: 'Bad Request' },
  CSEQ_METHOD_MISMATCH: { status: 400, reason: 'Bad Request' },
  BAD_BODY: { status: 400, reason: 'Bad Request' },
  MESSAGE_TOO_LARGE: { status: 513, reason: 'Message Too Large' },
  VERSION_NOT_SUPPORTED: { status: 505, reason: 'Version Not Supported' },
  UNSUPPORTED_URI_SCHEME: { status: 416, reason: 'Unsupported URI Scheme' },
  // Auth (RFC 3261 §22, RFC 7616)
  UNAUTHORIZED: { status: 401, reason: 'Unauthorized' },
  PROXY_AUTH_REQUIRED: { status: 407, reason: 'Proxy Authentication Required' },
  FORBIDDEN: { status: 403, reason: 'Forbidden' },
  // Routing / proxy (RFC 3261 §16)
  NOT_FOUND: { status: 404, reason: 'Not Found' },
  TEMPORARILY_UNAVAILABLE: { status: 480, reason: 'Temporarily Unavailable' },
  TOO_MANY_HOPS: { status: 483, reason: 'Too Many Hops' },
  LOOP_DETECTED: { status: 482, reason: 'Loop Detected' },
  MERGED_REQUEST: { status: 482, reason: 'Loop Detected' },
  REQUEST_TIMEOUT: { status: 408, reason: 'Request Timeout' },
  BAD_EXTENSION: { status: 420, reason: 'Bad Extension' },
  CALL_DOES_NOT_EXIST: { status: 481, reason: 'Call/Transaction Does Not Exist' },
  METHOD_NOT_ALLOWED: { status: 405, reason: 'Method Not Allowed' },
  NOT_IMPLEMENTED: { status: 501, reason: 'Not Implemented' },
  // Registrar (RFC 3261 §10.3)
  INTERVAL_TOO_BRIEF: { status: 423, reason: 'Interval Too Brief' },
  // Events and bodies (RFC 6665, RFC 3903, RFC 3261 §21.4.13)
  BAD_EVENT: { status: 489, reason: 'Bad Event' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, reason: 'Unsupported Media Type' },
  NOT_ACCEPTABLE: { status: 406, reason: 'Not Acceptable' },
  CONDITIONAL_REQUEST_FAILED: { status: 412, reason: 'Conditional Request Failed' },
  REQUEST_ENTITY_TOO_LARGE: { status: 413, reason: 'Request Entity Too Large' },
  // Server conditions
  SERVICE_UNAVAILABLE: { status: 503, reason: 'Service Unavailable' },
  SERVER_TIMEOUT: { status: 504, reason: 'Server Time-out' },
  INTERNAL: { status: 500, reason: 'Server Internal Error' },
  STORAGE_FAILURE: { status: 500, reason: 'Server Internal Error' },
  // Server location (RFC 3263): the name has no SIP server (NXDOMAIN, no usable records) —
  // definitive, like an unknown user; a resolver that fails or times out is temporary.
  DNS_NAME_NOT_FOUND: { status: 404, reason: 'Not Found' },
  DNS_FAILURE: { status: 503, reason: 'Service Unavailable' },
  // Transport (never answered on the wire as such; a client transaction maps it to 503/408)
  TRANSPORT_ERROR: { status: 503, reason: 'Service Unavailable' },
} as const satisfies Record<string, { status: number; reason: string }>;

export type ErrorCode = keyof typeof ERROR_TABLE;

export interface SipErrorOptions {
  /** Human-readable detail; goes into the reason phrase of 4xx answers ("Bad Request (missing Via)"). */
  detail?: string;
  /** Extra headers the response must carry (Min-Expires, Allow, Retry-After, WWW-Authenticate...). */
  headers?: ReadonlyArray<readonly [string, string]>;
  /** The underlying error, when wrapping a foreign one. */
  cause?: unknown;
  /** Override the table's status (e.g. a 5xx chosen by policy); the code keeps its meaning. */
  status?: number;
}

export class SipError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly reason: string;
  readonly detail: string | undefined;
  readonly headers: ReadonlyArray<readonly [string, string]>;

  constructor(code: ErrorCode, options: SipErrorOptions = {}) {
    const entry = ERROR_TABLE[code];
    super(options.detail ? `${code}: ${options.detail}` : code, options.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = 'SipError';
    this.code = code;
    this.status = options.status ?? entry.status;
    this.reason = entry.reason;
    this.detail = options.detail;
    this.headers = options.headers ?? [];
  }

  /** The reason phrase to send: the table's phrase, with the detail for client errors. */
  get reasonPhrase(): string {
    // Reason phrases are TEXT-UTF8 without CR/LF (RFC 3261 §25.1); details come from our own code
    // but may quote input, so strip anything that would break the status line.
    if (!this.detail || this.status >= 500) return this.reason;
    return `${this.reason} (${this.detail.replace(/[\r\n]+/g, ' ').slice(0, 120)})`;
  }
}

/** True when `err` is a SipError (by code, so it works across realms and seams). */
export function isSipError(err: unknown): err is SipError {
  return typeof err === 'object' && err !== null && (err as { name?: unknown }).name === 'SipError'
    && typeof (err as { code?: unknown }).code === 'string'
    && (err as { code: string }).code in ERROR_TABLE;
}
