/**
 * The watchers' side of the presence benchmark: one UDP socket that every SUBSCRIBE's Contact
 * points to. It answers each NOTIFY with 200 at once, timestamps its arrival, and keeps per
 * dialog (Call-ID) the last CSeq seen, so a retransmitted NOTIFY (same CSeq) is answered again
 * but counted once, as a duplicate. The first NOTIFY of a dialog (RFC 6665 §4.2.1.2, the
 * immediate one) marks the subscription established; `terminated` ends it.
 *
 * Why Node and not SIPp: SIPp sends the SUBSCRIBEs (scenarios/bench-presence-subscribe.xml),
 * but absorbing the NOTIFYs in SIPp would need one open SIPp call per subscription (100,000)
 * waiting in a `<recv request="NOTIFY">` loop, and SIPp cannot read the PUBLISH sequence number
 * and send time out of the PIDF note to measure the PUBLISH→NOTIFY latency (its clock also
 * moves in ~4 ms steps here). This responder does the minimum per datagram (indexOf scanning, no
 * XML parsing) and measures with `performance.now()`, the clock the publisher stamps notes with.
 */
import dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { answerNotify } from './presence-sip.mjs';

export class NotifyResponder {
  /**
   * @param {{ address?: string, recvBufferSize?: number, onNote?: (seq: number, at: number, dialog: string) => void }} [options]
   * @returns {Promise<NotifyResponder>}
   */
  static async start(options = {}) {
    const r = new NotifyResponder(options);
    await r.#bind(options.address ?? '127.0.0.1');
    return r;
  }

  /** @type {dgram.Socket} */
  #socket;
  /** @type {(seq: number, at: number, dialog: string) => void} */
  #onNote;
  /** Last CSeq per dialog (Call-ID). */
  #dialogs = new Map();
  /** Established subscriptions (first NOTIFY seen, not terminated) per presentity user. */
  #watchers = new Map();
  /** Presentity of each established dialog. */
  #presentityOf = new Map();
  port = 0;
  /** NOTIFYs received, first copies only. */
  notifies = 0;
  /** Retransmitted NOTIFYs (a CSeq already answered). */
  duplicates = 0;
  /** NOTIFYs with Subscription-State: terminated. */
  terminated = 0;
  /** Datagrams that were not NOTIFY requests. */
  other = 0;
  /** Established subscriptions in all. */
  established = 0;

  /** @param {{ recvBufferSize?: number, onNote?: (seq: number, at: number, dialog: string) => void }} options */
  constructor(options) {
    this.#onNote = options.onNote ?? (() => {});
    // A 1,000-watcher fan-out is ~1,000 NOTIFYs of ~700 bytes at once: more than the default
    // ~208 KiB receive buffer, so ask for more (Linux caps it at net.core.rmem_max).
    this.#socket = dgram.createSocket({ type: 'udp4', recvBufferSize: options.recvBufferSize ?? 4 * 1024 * 1024 });
    this.#socket.on('message', (buf, rinfo) => this.#message(buf, rinfo));
  }

  /** @param {(seq: number, at: number, dialog: string) => void} fn */
  set onNote(fn) {
    this.#onNote = fn;
  }

  /**
   * Established subscriptions of presentity `user`.
   * @param {string} user
   */
  watchersOf(user) {
    return this.#watchers.get(user) ?? 0;
  }

  /** The receive buffer the kernel granted, bytes. */
  get recvBufferSize() {
    return this.#socket.getRecvBufferSize();
  }

  close() {
    return new Promise((done) => this.#socket.close(() => done(undefined)));
  }

  /** @param {string} address */
  #bind(address) {
    return new Promise((done, reject) => {
      this.#socket.once('error', reject);
      this.#socket.bind(0, address, () => {
        this.#socket.off('error', reject);
        this.#socket.on('error', () => { /* ICMP errors on a UDP socket: nothing to do */ });
        this.port = this.#socket.address().port;
        done(undefined);
      });
    });
  }

  /**
   * @param {Buffer} buf
   * @param {dgram.RemoteInfo} rinfo
   */
  #message(buf, rinfo) {
    const at = performance.now();
    // latin1 maps bytes 1:1, so the echoed header lines go back byte for byte.
    const a = answerNotify(buf.toString('latin1'));
    if (!a) {
      this.other++;
      return;
    }
    this.#socket.send(Buffer.from(a.reply, 'latin1'), rinfo.port, rinfo.address);
    const last = this.#dialogs.get(a.callId);
    if (last !== undefined && a.cseq <= last) {
      this.duplicates++;
      return;
    }
    this.#dialogs.set(a.callId, a.cseq);
    this.notifies++;
    if (a.state === 'terminated') {
      this.terminated++;
      const p = this.#presentityOf.get(a.callId);
      if (p !== undefined) {
        this.#presentityOf.delete(a.callId);
        this.#watchers.set(p, (this.#watchers.get(p) ?? 1) - 1);
        this.established--;
      }
    } else if (last === undefined) {
      this.#presentityOf.set(a.callId, a.presentity);
      this.#watchers.set(a.presentity, (this.#watchers.get(a.presentity) ?? 0) + 1);
      this.established++;
    }
    if (a.note) this.#onNote(a.note.seq, at, a.callId);
  }
}
