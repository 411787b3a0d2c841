/**
 * The embedded stack's IncomingRequest: a request with its server transaction (RFC 3261 §17.2),
 * or none for ACK (which has no response).
 */
import { createResponse, defaultReason, generateTag, type SipRequest, type SipResponse } from '../../sip/index.js';
import type { ServerTransaction } from '../../transaction/index.js';
import type { IncomingRequest, RequestSource, ResponseOptions, TransportAddress } from '../port.js';

export class ServerRequest implements IncomingRequest {
  readonly message: SipRequest;
  readonly source: RequestSource;
  readonly #tx: ServerTransaction | undefined;
  readonly #serverHeader: string | undefined;
  #toTag: string | undefined;
  #finalSent = false;
  /** Set by the proxy core while branches are out, so an upstream CANCEL reaches them. */
  onCancel: (() => void) | undefined;
  /** See IncomingRequest.recordRouted (set by the stack before dispatch). */
  recordRouted: { toFlow?: TransportAddress } | undefined;

  constructor(message: SipRequest, source: RequestSource, tx: ServerTransaction | undefined, serverHeader?: string) {
    this.message = message;
    this.source = source;
    this.#tx = tx;
    this.#serverHeader = serverHeader;
  }

  get finalSent(): boolean {
    return this.#finalSent || (this.#tx?.finalSent ?? false);
  }

  get transaction(): ServerTransaction | undefined {
    return this.#tx;
  }

  async respond(status: number, options: ResponseOptions = {}): Promise<void> {
    if (!this.#tx) return; // ACK: RFC 3261 §17 — never answered
    if (this.finalSent && !(status >= 200 && status < 300 && this.message.method === 'INVITE')) return;
    // RFC 3261 §8.2.6.2: "the UAS MUST add a tag to the To header field in the response (with the
    // exception of the 100 (Trying) response ...)". One tag per request, so provisional and final
    // responses name the same dialog.
    let toTag: string | undefined;
    if (status > 100 && this.message.to.params.get('tag') == null) {
      this.#toTag ??= options.toTag ?? generateTag();
      toTag = this.#toTag;
    }
    const res = createResponse(this.message, status, options.reason ?? defaultReason(status), toTag !== undefined ? { toTag } : {});
    for (const [name, value] of options.headers ?? []) res.append(name, value);
    if (this.#serverHeader && !res.has('server')) res.append('server', this.#serverHeader);
    if (options.body !== undefined && options.body.length > 0) {
      res.body = typeof options.body === 'string' ? Buffer.from(options.body, 'utf8') : options.body;
      res.set('content-type', options.contentType ?? 'application/octet-stream');
    }
    if (status >= 200) this.#finalSent = true;
    await this.#tx.respond(res);
  }

  /** Send a response received on a proxied branch upstream: its top Via (ours) removed (§16.7 step 3). */
  async relay(response: SipResponse): Promise<void> {
    if (!this.#tx) return;
    if (this.finalSent && !(response.status >= 200 && response.status < 300 && this.message.method === 'INVITE')) return;
    response.removeFirst('via');
    if (response.status >= 200) this.#finalSent = true;
    await this.#tx.respond(response);
  }
}
