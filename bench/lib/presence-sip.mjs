/**
 * Pure helpers for the presence fan-out benchmark (bench/presence.mjs): the PUBLISH and its PIDF
 * body, the few header reads the NOTIFY responder needs, the 200 it answers with, the SIPp
 * injection file for SUBSCRIBE, and the bookkeeping that turns NOTIFY arrivals into figures
 * (delivered, failed, latency percentiles, NOTIFYs/s). No I/O, so they are unit-tested
 * (test/unit/bench/presence-sip.test.ts).
 *
 * Each PUBLISH carries a bench sequence number and its send time in the PIDF `<note>`
 * ("bench seq=17 sent=1234.567"); the composed document the server sends to watchers keeps the
 * note, so a NOTIFY says by itself which PUBLISH it reports and when that PUBLISH left.
 * Times are `performance.now()` milliseconds of the one bench process (sender and receiver
 * share the clock).
 */
import { percentile } from './sipp-results.mjs';

export const PIDF = 'application/pidf+xml';
const NOTE_PREFIX = 'bench seq=';

/**
 * The note of PUBLISH `seq`, sent at `sentAt` ms.
 * @param {number} seq
 * @param {number} sentAt
 */
export function benchNote(seq, sentAt) {
  return `${NOTE_PREFIX}${seq} sent=${sentAt.toFixed(3)}`;
}

/**
 * Reads the bench note out of a NOTIFY body (or any text); undefined when there is none.
 * Plain indexOf scanning: no regex over the whole body.
 * @param {string} text
 * @returns {{ seq: number, sentAt: number } | undefined}
 */
export function readBenchNote(text) {
  const at = text.indexOf(NOTE_PREFIX);
  if (at < 0) return undefined;
  let i = at + NOTE_PREFIX.length;
  let seq = 0;
  const start = i;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) break;
    seq = seq * 10 + (c - 48);
    i++;
  }
  if (i === start || !text.startsWith(' sent=', i)) return undefined;
  i += 6;
  const end = text.indexOf('<', i);
  const sentAt = Number(text.slice(i, end < 0 ? undefined : end));
  if (!Number.isFinite(sentAt)) return undefined;
  return { seq, sentAt };
}

/**
 * A PIDF document for `user@domain`: one tuple, basic open/closed, the note.
 * @param {{ user: string, domain: string, open: boolean, note: string }} p
 */
export function pidfBody({ user, domain, open, note }) {
  return '<?xml version="1.0" encoding="UTF-8"?>\n'
    + `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:${user}@${domain}">\n`
    + `<tuple id="bench"><status><basic>${open ? 'open' : 'closed'}</basic></status><note>${note}</note></tuple>\n`
    + '</presence>\n';
}

/**
 * One PUBLISH (RFC 3903) over UDP from `local` for `user@domain`; `etag` makes it a modification
 * (SIP-If-Match) of that publication.
 * @param {{ user: string, domain: string, local: { address: string, port: number }, callId: string, branch: string, body: string, etag?: string, expires?: number }} p
 */
export function publishRequest({ user, domain, local, callId, branch, body, etag, expires = 3600 }) {
  const aor = `sip:${user}@${domain}`;
  const lines = [
    `PUBLISH ${aor} SIP/2.0`,
    `Via: SIP/2.0/UDP ${local.address}:${local.port};branch=${branch};rport`,
    'Max-Forwards: 70',
    `From: <${aor}>;tag=${branch.slice(-12)}`,
    `To: <${aor}>`,
    `Call-ID: ${callId}`,
    'CSeq: 1 PUBLISH',
    'Event: presence',
    `Expires: ${expires}`,
  ];
  if (etag !== undefined) lines.push(`SIP-If-Match: ${etag}`);
  lines.push(`Content-Type: ${PIDF}`, `Content-Length: ${Buffer.byteLength(body, 'utf8')}`, '', body);
  return lines.join('\r\n');
}

/** Compact header forms (RFC 3261 §7.3.3) the server might use, mapped to full names. */
const COMPACT = { v: 'via', f: 'from', t: 'to', i: 'call-id', l: 'content-length', c: 'content-type', o: 'event' };

/**
 * Splits a datagram into its start line, header lines (name lower-cased, compact forms
 * expanded, value trimmed, the original line kept for echoing) and body. Undefined when there
 * is no blank line ending the headers.
 * @param {string} text
 */
export function splitSipMessage(text) {
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const lines = text.slice(0, end).split('\r\n');
  const startLine = lines[0];
  /** @type {{ name: string, value: string, line: string }[]} */
  const headers = [];
  for (let k = 1; k < lines.length; k++) {
    const line = lines[k];
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    let name = line.slice(0, colon).trim().toLowerCase();
    if (name.length === 1 && name in COMPACT) name = COMPACT[/** @type {keyof typeof COMPACT} */ (name)];
    headers.push({ name, value: line.slice(colon + 1).trim(), line });
  }
  return { startLine, headers, body: text.slice(end + 4) };
}

/**
 * What the responder needs from a NOTIFY, and its 200 (RFC 3261 §8.2.6: Via, From, To, Call-ID
 * and CSeq copied; the To already carries the watcher's tag, the dialog exists). Undefined when
 * the text is not a NOTIFY request.
 * @param {string} text
 * @returns {{ reply: string, callId: string, cseq: number, presentity: string, state: string, note: { seq: number, sentAt: number } | undefined } | undefined}
 */
export function answerNotify(text) {
  if (!text.startsWith('NOTIFY ')) return undefined;
  const msg = splitSipMessage(text);
  if (!msg) return undefined;
  let callId = '';
  let cseq = Number.NaN;
  let presentity = '';
  let state = '';
  const echo = [];
  for (const h of msg.headers) {
    switch (h.name) {
      case 'via':
        echo.push(h.line);
        break;
      case 'from':
        echo.push(h.line);
        presentity = userOf(h.value);
        break;
      case 'to':
        echo.push(h.line);
        break;
      case 'call-id':
        echo.push(h.line);
        callId = h.value;
        break;
      case 'cseq':
        echo.push(h.line);
        cseq = Number.parseInt(h.value, 10);
        break;
      case 'subscription-state': {
        const semi = h.value.indexOf(';');
        state = (semi < 0 ? h.value : h.value.slice(0, semi)).trim().toLowerCase();
        break;
      }
      default:
        break;
    }
  }
  const reply = `SIP/2.0 200 OK\r\n${echo.join('\r\n')}\r\nContent-Length: 0\r\n\r\n`;
  return { reply, callId, cseq, presentity, state, note: readBenchNote(msg.body) };
}

/**
 * The user part of a name-addr or addr-spec ("<sip:bp12@localhost>;tag=x" -> "bp12").
 * @param {string} value
 */
export function userOf(value) {
  const sip = value.indexOf('sip:');
  if (sip < 0) return '';
  const at = value.indexOf('@', sip);
  return at < 0 ? '' : value.slice(sip + 4, at);
}

/**
 * A response's status code, Call-ID and SIP-ETag; undefined for a request.
 * @param {string} text
 * @returns {{ status: number, callId: string, etag: string | undefined } | undefined}
 */
export function readResponse(text) {
  if (!text.startsWith('SIP/2.0 ')) return undefined;
  const msg = splitSipMessage(text);
  if (!msg) return undefined;
  const status = Number.parseInt(msg.startLine.slice(8, 11), 10);
  let callId = '';
  let etag;
  for (const h of msg.headers) {
    if (h.name === 'call-id') callId = h.value;
    else if (h.name === 'sip-etag') etag = h.value;
  }
  return { status, callId, etag };
}

/**
 * The SIPp `-inf` file for scenarios/bench-presence-subscribe.xml: "SEQUENTIAL", then one
 * subscription per line, `watcher;presentity;`.
 * @param {readonly { watcher: string, presentity: string }[]} rows
 */
export function subscriptionsCsv(rows) {
  const out = ['SEQUENTIAL'];
  for (const r of rows) out.push(`${r.watcher};${r.presentity};`);
  return `${out.join('\n')}\n`;
}

/**
 * Bookkeeping of one fan-out measurement: which PUBLISHes were sent (sequence number, presentity,
 * send time, how many NOTIFYs each should produce) and which NOTIFYs arrived, per dialog.
 *
 * Each expected NOTIFY ends up as exactly one of:
 * - delivered: it arrived within `boundMs` of its PUBLISH;
 * - superseded: the watcher got a later state of the same presentity within `boundMs` of this
 *   PUBLISH instead (the notifier coalesced: "a watcher never gets more than the latest state
 *   queued" — by design, not a failure);
 * - late: it (or the state superseding it) arrived after the bound — a failure;
 * - missing: nothing arrived — a failure.
 * Duplicates (the same dialog and CSeq: a retransmission) are counted apart by the responder.
 * Every dialog is assumed subscribed before the first PUBLISH of this tracker.
 */
/**
 * @typedef {{ key: string, index: number, sentAt: number, expected: number, arrived: number, superseded: number, late: number, status: number | undefined }} PublishRecord
 */

export class FanoutTracker {
  /** @param {{ boundMs: number }} options */
  constructor({ boundMs }) {
    this.boundMs = boundMs;
    /** @type {Map<number, PublishRecord>} */
    this.publishes = new Map();
    /** Sequence numbers of each presentity, in send order. @type {Map<string, number[]>} */
    this.order = new Map();
    /** Per dialog: index (in its presentity's order) of the latest state it received. @type {Map<string, number>} */
    this.seen = new Map();
    /** @type {number[]} */
    this.latencies = [];
    this.unknown = 0;
    this.firstSent = Infinity;
    this.lastArrival = -Infinity;
  }

  /**
   * PUBLISH `seq` for presentity `key` left at `sentAt` and should reach `expected` watchers.
   * @param {number} seq
   * @param {string} key
   * @param {number} sentAt
   * @param {number} expected
   */
  sent(seq, key, sentAt, expected) {
    let list = this.order.get(key);
    if (!list) this.order.set(key, (list = []));
    this.publishes.set(seq, { key, index: list.length, sentAt, expected, arrived: 0, superseded: 0, late: 0, status: undefined });
    list.push(seq);
    if (sentAt < this.firstSent) this.firstSent = sentAt;
  }

  /**
   * The PUBLISH's final status (a non-2xx means its NOTIFYs will not come).
   * @param {number} seq
   * @param {number} status
   */
  answered(seq, status) {
    const p = this.publishes.get(seq);
    if (p) p.status = status;
  }

  /**
   * A (non-duplicate) NOTIFY of dialog `dialog` reporting PUBLISH `seq` arrived at `at`. Returns
   * false when the sequence number is not one of this tracker's.
   * @param {number} seq
   * @param {number} at
   * @param {string} dialog
   */
  arrived(seq, at, dialog) {
    const p = this.publishes.get(seq);
    if (!p) {
      this.unknown++;
      return false;
    }
    this.latencies.push(at - p.sentAt);
    if (at > this.lastArrival) this.lastArrival = at;
    if (at - p.sentAt > this.boundMs) p.late++;
    else p.arrived++;
    const last = this.seen.get(dialog) ?? -1;
    if (p.index > last) {
      // States of this presentity sent between the dialog's last one and this one were skipped.
      const list = /** @type {number[]} */ (this.order.get(p.key));
      for (let i = last + 1; i < p.index; i++) {
        const skipped = /** @type {PublishRecord} */ (this.publishes.get(list[i]));
        if (at - skipped.sentAt > this.boundMs) skipped.late++;
        else skipped.superseded++;
      }
      this.seen.set(dialog, p.index);
    }
    return true;
  }

  /** Expected NOTIFYs not yet accounted for (neither arrived, superseded nor late). */
  outstanding() {
    let n = 0;
    for (const p of this.publishes.values()) n += Math.max(0, p.expected - p.arrived - p.superseded - p.late);
    return n;
  }

  /**
   * The figures. `notifyRate` = NOTIFYs received / (last arrival − first PUBLISH sent), per s.
   */
  summary() {
    let expected = 0;
    let delivered = 0;
    let superseded = 0;
    let late = 0;
    let publishFailures = 0;
    for (const p of this.publishes.values()) {
      expected += p.expected;
      const d = Math.min(p.arrived, p.expected);
      const sup = Math.min(p.superseded, p.expected - d);
      delivered += d;
      superseded += sup;
      late += Math.min(p.late, p.expected - d - sup);
      if (p.status === undefined || p.status >= 300) publishFailures++;
    }
    const missing = expected - delivered - superseded - late;
    const failed = missing + late;
    const received = this.latencies.length;
    const spanMs = received > 0 ? this.lastArrival - this.firstSent : Number.NaN;
    const sorted = Float64Array.from(this.latencies).sort();
    return {
      publishes: this.publishes.size,
      publishFailures,
      expected,
      delivered,
      superseded,
      late,
      missing,
      failed,
      failurePct: expected > 0 ? (100 * failed) / expected : Number.NaN,
      received,
      spanMs,
      notifyRate: spanMs > 0 ? (received * 1000) / spanMs : Number.NaN,
      p50: percentile(sorted, 50),
      p90: percentile(sorted, 90),
      p99: percentile(sorted, 99),
      max: sorted.length > 0 ? sorted[sorted.length - 1] : Number.NaN,
    };
  }
}

/**
 * The highest offered NOTIFY rate sustained: failures under `maxFailurePct` and NOTIFYs
 * delivered at no less than `minRateRatio` of the offered rate. Undefined when none was.
 * @template {{ offeredNotifyRate: number, failurePct: number, notifyRate: number }} T
 * @param {readonly T[]} steps
 * @param {{ maxFailurePct?: number, minRateRatio?: number }} [criteria]
 * @returns {T | undefined}
 */
export function highestSustainedFanout(steps, criteria = {}) {
  const maxFailurePct = criteria.maxFailurePct ?? 1;
  const minRatio = criteria.minRateRatio ?? 0.9;
  let best;
  for (const s of steps) {
    const ok = s.failurePct < maxFailurePct && s.notifyRate >= minRatio * s.offeredNotifyRate;
    if (ok && (best === undefined || s.offeredNotifyRate > best.offeredNotifyRate)) best = s;
  }
  return best;
}
