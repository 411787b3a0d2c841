/**
 * The publisher of the presence benchmark: PUBLISH (RFC 3903) over UDP from one socket, paced at
 * a given rate, each one changing the presentity's state (basic open/closed alternating, and a
 * note with the bench sequence number and the send time), so every PUBLISH is a change the
 * server must fan out. The first PUBLISH of a presentity creates its publication; later ones
 * modify it with SIP-If-Match (one publication per presentity, not one per PUBLISH).
 *
 * Retransmission as a UAC's non-INVITE transaction over UDP (RFC 3261 §17.1.2.2: Timer E from
 * T1 = 500 ms doubling to T2 = 4 s), given up after `timeoutMs` (status 408).
 *
 * Why Node and not SIPp: the note must carry the exact send time (the watcher side computes
 * PUBLISH→NOTIFY from it), and each PUBLISH must quote the entity-tag of the previous answer.
 */
import dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { benchNote, pidfBody, publishRequest, readResponse } from './presence-sip.mjs';

const T1 = 500;
const T2 = 4000;

export class PresencePublisher {
  /**
   * @param {{ server: { address: string, port: number }, domain: string, timeoutMs?: number }} options
   * @returns {Promise<PresencePublisher>}
   */
  static async start(options) {
    const p = new PresencePublisher(options);
    await p.#bind();
    return p;
  }

  /** @type {dgram.Socket} */
  #socket;
  #server;
  #domain;
  #timeoutMs;
  /** Entity-tag of each presentity's publication. */
  #etags = new Map();
  /** @type {Map<string, { resolve: (status: number) => void, timer: NodeJS.Timeout | undefined, user: string }>} */
  #pending = new Map();
  #local = { address: '127.0.0.1', port: 0 };
  #counter = 0;
  /** PUBLISH retransmissions sent. */
  retransmissions = 0;

  /** @param {{ server: { address: string, port: number }, domain: string, timeoutMs?: number }} options */
  constructor(options) {
    this.#server = options.server;
    this.#domain = options.domain;
    this.#timeoutMs = options.timeoutMs ?? 8000;
    this.#socket = dgram.createSocket({ type: 'udp4', recvBufferSize: 1024 * 1024 });
    this.#socket.on('message', (buf) => this.#message(buf));
  }

  /** PUBLISHes waiting for their final answer. */
  get inFlight() {
    return this.#pending.size;
  }

  close() {
    for (const p of this.#pending.values()) clearTimeout(p.timer);
    this.#pending.clear();
    return new Promise((done) => this.#socket.close(() => done(undefined)));
  }

  /**
   * Sends PUBLISH number `seq` for `user` now. `onSent(sentAt)` runs just before the datagram
   * leaves; the promise resolves with the final status (408 when no answer came in time).
   * @param {string} user
   * @param {number} seq
   * @param {(sentAt: number) => void} [onSent]
   * @returns {Promise<number>}
   */
  publish(user, seq, onSent) {
    const id = `${process.pid}x${++this.#counter}`;
    const callId = `pub-${id}@herald-bench`;
    const branch = `z9hG4bKhb${id}`;
    const sentAt = performance.now();
    const body = pidfBody({ user, domain: this.#domain, open: seq % 2 === 0, note: benchNote(seq, sentAt) });
    const etag = this.#etags.get(user);
    const data = Buffer.from(publishRequest({ user, domain: this.#domain, local: this.#local, callId, branch, body, ...(etag !== undefined ? { etag } : {}) }), 'utf8');
    return new Promise((resolve) => {
      const entry = { resolve, timer: /** @type {NodeJS.Timeout | undefined} */ (undefined), user };
      this.#pending.set(callId, entry);
      let interval = T1;
      const retransmit = () => {
        if (!this.#pending.has(callId)) return;
        const spent = performance.now() - sentAt;
        if (spent >= this.#timeoutMs - 1) {
          this.#pending.delete(callId);
          resolve(408);
          return;
        }
        this.retransmissions++;
        this.#socket.send(data, this.#server.port, this.#server.address);
        interval = Math.min(interval * 2, T2);
        entry.timer = setTimeout(retransmit, Math.max(1, Math.min(interval, this.#timeoutMs - spent)));
      };
      onSent?.(sentAt);
      this.#socket.send(data, this.#server.port, this.#server.address);
      entry.timer = setTimeout(retransmit, Math.min(interval, this.#timeoutMs));
    });
  }

  /**
   * Sends PUBLISH for each item, paced at `rate` per second (batches every ~2 ms so the rate holds
   * above the timer resolution). Resolves once every PUBLISH was sent, with the promises of their
   * final statuses (in item order) and the achieved send rate.
   * @param {readonly { user: string, seq: number }[]} items
   * @param {number} rate
   * @param {(item: { user: string, seq: number }, sentAt: number) => void} [onSent]
   * @returns {Promise<{ answers: Promise<number>[], sendRate: number }>}
   */
  publishAtRate(items, rate, onSent) {
    /** @type {Promise<number>[]} */
    const answers = [];
    const start = performance.now();
    let next = 0;
    return new Promise((done) => {
      const tick = () => {
        const due = Math.min(items.length, Math.floor(((performance.now() - start) * rate) / 1000) + 1);
        while (next < due) {
          const item = items[next++];
          answers.push(this.publish(item.user, item.seq, (at) => onSent?.(item, at)));
        }
        if (next < items.length) {
          setTimeout(tick, 2);
          return;
        }
        const spent = performance.now() - start;
        done({ answers, sendRate: items.length > 1 && spent > 0 ? ((items.length - 1) * 1000) / spent : Number.NaN });
      };
      tick();
    });
  }

  #bind() {
    return new Promise((done, reject) => {
      this.#socket.once('error', reject);
      this.#socket.bind(0, '127.0.0.1', () => {
        this.#socket.off('error', reject);
        this.#socket.on('error', () => { /* ICMP errors on a UDP socket: the retransmission timer decides */ });
        this.#local = { address: '127.0.0.1', port: this.#socket.address().port };
        done(undefined);
      });
    });
  }

  /** @param {Buffer} buf */
  #message(buf) {
    const r = readResponse(buf.toString('latin1'));
    if (!r || r.status < 200) return;
    const p = this.#pending.get(r.callId);
    if (!p) return;
    this.#pending.delete(r.callId);
    clearTimeout(p.timer);
    if (r.status < 300 && r.etag !== undefined) this.#etags.set(p.user, r.etag);
    else if (r.status === 412) this.#etags.delete(p.user);
    p.resolve(r.status);
  }
}
