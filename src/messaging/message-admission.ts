/**
 * What every MESSAGE must pass before it is relayed, stored or sent on (issue 4: size limit,
 * per-sender rate limit), wherever it goes: a local user, a gateway or another domain.
 *
 * - Size: a body over `maxBodyBytes` gets 413 (RFC 3261 §21.4.11: "the request entity-body is
 *   larger than the server is willing or able to process"). Messages over the transport limit never
 *   get this far: the stack answers 513 (RFC 3261 §21.5.14).
 * - Rate: one token bucket per sender (its From address and source IP: a spoofed From from
 *   elsewhere does not spend the real user's allowance). A sender over its rate gets 503 with
 *   Retry-After (RFC 3261 §21.5.4: "The server MAY indicate when the client should retry the
 *   request in a Retry-After header field"), which is what a flood deserves: "not now", not
 *   "never". The server keeps serving everyone else.
 * - CPIM (RFC 3862): a message/cpim body Herald may have to read later (to store it, to answer
 *   its IMDN request) must parse; a malformed one gets 400 naming the problem rather than being
 *   relayed or stored half-understood.
 * Refusals are logged at info at most once a second (a flood must not flood the log), with the
 * count since the last line.
 */
import type { Logger } from 'pino';
import type { Clock } from '../util/clock.js';
import { RateLimiter } from '../util/rate-limiter.js';
import { SipError, aorKey, type SipRequest } from '../sip/index.js';
import type { IncomingRequest } from '../stack/port.js';
import { parseCpim } from '../documents/index.js';

export interface MessageAdmissionOptions {
  clock: Clock;
  logger: Logger;
  maxBodyBytes: number;
  /** Sustained MESSAGEs per second per sender; 0 = no limit. */
  senderRatePerSecond: number;
  senderBurst: number;
}

export class MessageAdmission {
  readonly #o: MessageAdmissionOptions;
  readonly #log: Logger;
  readonly #limiter: RateLimiter;
  #lastLog = -Infinity;
  #refusedSinceLog = 0;

  constructor(options: MessageAdmissionOptions) {
    this.#o = options;
    this.#log = options.logger.child({ component: 'messaging' });
    this.#limiter = new RateLimiter({ clock: options.clock, ratePerSecond: options.senderRatePerSecond, burst: options.senderBurst });
  }

  /** Throws the SipError to answer when the MESSAGE may not go on. */
  check(request: IncomingRequest): void {
    const msg = request.message;
    if (msg.body.length > this.#o.maxBodyBytes) {
      this.#log.info({ callId: msg.callId, from: senderOf(msg), bytes: msg.body.length, max: this.#o.maxBodyBytes }, 'MESSAGE too large');
      throw new SipError('REQUEST_ENTITY_TOO_LARGE', { detail: `body over ${this.#o.maxBodyBytes} bytes` });
    }
    if (msg.contentType === 'message/cpim') {
      try {
        parseCpim(msg.body);
      } catch (err) {
        const detail = err instanceof Error ? err.message : String(err);
        this.#log.info({ callId: msg.callId, from: senderOf(msg), problem: detail }, 'MESSAGE with malformed CPIM');
        throw new SipError('BAD_BODY', { detail: `malformed message/cpim: ${detail}` });
      }
    }
    if (!this.#limiter.enabled) return;
    const sender = `${senderOf(msg)}|${request.source.address}`;
    const taken = this.#limiter.take(sender);
    if (taken.ok) return;
    const seconds = Math.max(1, Math.ceil(taken.retryAfterMs / 1000));
    this.#noteRefusal(msg, sender);
    throw new SipError('SERVICE_UNAVAILABLE', {
      detail: 'sender rate limit',
      headers: [['Retry-After', String(seconds)]],
    });
  }

  #noteRefusal(msg: SipRequest, sender: string): void {
    this.#refusedSinceLog++;
    const now = this.#o.clock.now();
    if (now - this.#lastLog < 1000) return;
    this.#log.info({ callId: msg.callId, sender, refused: this.#refusedSinceLog, ratePerSecond: this.#o.senderRatePerSecond, burst: this.#o.senderBurst }, 'MESSAGE sender over its rate: 503');
    this.#lastLog = now;
    this.#refusedSinceLog = 0;
  }
}

function senderOf(msg: SipRequest): string {
  try {
    return aorKey(msg.from.uri);
  } catch {
    return '';
  }
}
