/**
 * An HTTP refusal from the management API: a status, a message for the JSON body (`{ "error" }`)
 * that names the field at fault, and extra response headers (Allow, WWW-Authenticate). HTTP is not
 * SIP, so these stay apart from the SIP error table; the API turns them into responses in one place.
 */
export class HttpError extends Error {
  readonly status: number;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  /** Why, for the log line (not sent): `missing`, `bad-response`, `forbidden`... */
  readonly reason: string | undefined;

  constructor(status: number, message: string, options: { headers?: ReadonlyArray<readonly [string, string]>; reason?: string } = {}) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
    this.headers = options.headers ?? [];
    this.reason = options.reason;
  }
}
