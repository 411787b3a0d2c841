/**
 * The presence benchmark's load generators on loopback, against a fake peer socket: the NOTIFY
 * responder (answers, de-duplicates retransmissions, tracks established subscriptions) and the
 * publisher (SIP-If-Match after the first answer, retransmission, 408 when nobody answers).
 */
import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { NotifyResponder } from '../../../bench/lib/notify-responder.mjs';
import { PresencePublisher } from '../../../bench/lib/presence-publisher.mjs';
import { readBenchNote, splitSipMessage } from '../../../bench/lib/presence-sip.mjs';

const closers: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  while (closers.length > 0) await closers.pop()?.();
});

async function peer(): Promise<{ socket: dgram.Socket; port: number; next: (timeoutMs?: number) => Promise<{ text: string; port: number }> }> {
  const socket = dgram.createSocket('udp4');
  const queue: { text: string; port: number }[] = [];
  const waiters: Array<(m: { text: string; port: number }) => void> = [];
  socket.on('message', (buf, rinfo) => {
    const m = { text: buf.toString('latin1'), port: rinfo.port };
    const w = waiters.shift();
    if (w) w(m);
    else queue.push(m);
  });
  await new Promise<void>((done) => socket.bind(0, '127.0.0.1', () => done()));
  closers.push(() => new Promise<void>((done) => socket.close(() => done())));
  const next = (timeoutMs = 3000) => {
    const ready = queue.shift();
    if (ready) return Promise.resolve(ready);
    return new Promise<{ text: string; port: number }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no datagram within ${timeoutMs} ms`)), timeoutMs);
      waiters.push((m) => {
        clearTimeout(timer);
        resolve(m);
      });
    });
  };
  return { socket, port: socket.address().port, next };
}

function notify(cseq: number, state: string, body: string): string {
  return [
    'NOTIFY sip:bw1@127.0.0.1 SIP/2.0',
    `Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKn${cseq}`,
    'From: <sip:bp1@localhost>;tag=srv',
    'To: <sip:bw1@localhost>;tag=w',
    'Call-ID: dialog-1',
    `CSeq: ${cseq} NOTIFY`,
    `Subscription-State: ${state}`,
    `Content-Length: ${Buffer.byteLength(body)}`,
    '',
    body,
  ].join('\r\n');
}

function send(socket: dgram.Socket, text: string, port: number): void {
  socket.send(Buffer.from(text, 'latin1'), port, '127.0.0.1');
}

describe('NotifyResponder', () => {
  it('answers every NOTIFY copy, reports each state once, and tracks the subscription', async () => {
    const notes: Array<[number, string]> = [];
    const r = await NotifyResponder.start({ onNote: (seq, _at, dialog) => notes.push([seq, dialog]) });
    closers.push(() => r.close());
    const p = await peer();

    send(p.socket, notify(1, 'active;expires=3600', ''), r.port);
    const first = await p.next();
    expect(first.text).toMatch(/^SIP\/2\.0 200 OK\r\n/);
    expect(splitSipMessage(first.text)?.headers.find((h) => h.name === 'cseq')?.value).toBe('1 NOTIFY');
    expect(r.established).toBe(1);
    expect(r.watchersOf('bp1')).toBe(1);

    const state = '<note>bench seq=7 sent=10.000</note>';
    send(p.socket, notify(2, 'active;expires=3500', state), r.port);
    await p.next();
    // A retransmission (same CSeq) is answered again but not counted again.
    send(p.socket, notify(2, 'active;expires=3500', state), r.port);
    const again = await p.next();
    expect(again.text).toContain('CSeq: 2 NOTIFY');
    expect(r.notifies).toBe(2);
    expect(r.duplicates).toBe(1);
    expect(notes).toEqual([[7, 'dialog-1']]);

    send(p.socket, notify(3, 'terminated;reason=timeout', ''), r.port);
    await p.next();
    expect(r.terminated).toBe(1);
    expect(r.established).toBe(0);
    expect(r.watchersOf('bp1')).toBe(0);
  });
});

describe('PresencePublisher', () => {
  it('creates the publication, then modifies it with SIP-If-Match, a new note each time', async () => {
    const esc = await peer();
    const pub = await PresencePublisher.start({ server: { address: '127.0.0.1', port: esc.port }, domain: 'localhost' });
    closers.push(() => pub.close());

    const sentAts: number[] = [];
    const firstAnswer = pub.publish('alice', 0, (at) => sentAts.push(at));
    const first = await esc.next();
    const m1 = splitSipMessage(first.text);
    expect(m1?.startLine).toBe('PUBLISH sip:alice@localhost SIP/2.0');
    expect(m1?.headers.some((h) => h.name === 'sip-if-match')).toBe(false);
    expect(readBenchNote(m1?.body ?? '')).toEqual({ seq: 0, sentAt: Number(sentAts[0].toFixed(3)) });
    const callId = m1?.headers.find((h) => h.name === 'call-id')?.value;
    send(esc.socket, `SIP/2.0 200 OK\r\nCall-ID: ${callId}\r\nSIP-ETag: etag-1\r\nExpires: 3600\r\nContent-Length: 0\r\n\r\n`, first.port);
    expect(await firstAnswer).toBe(200);

    const secondAnswer = pub.publish('alice', 1);
    const second = await esc.next();
    const m2 = splitSipMessage(second.text);
    expect(m2?.headers.find((h) => h.name === 'sip-if-match')?.value).toBe('etag-1');
    expect(m2?.body).toContain('<basic>closed</basic>');
    expect(readBenchNote(m2?.body ?? '')?.seq).toBe(1);
    const callId2 = m2?.headers.find((h) => h.name === 'call-id')?.value;
    send(esc.socket, `SIP/2.0 412 Conditional Request Failed\r\nCall-ID: ${callId2}\r\nContent-Length: 0\r\n\r\n`, second.port);
    expect(await secondAnswer).toBe(412);

    // After a 412 the entity-tag is forgotten: the next PUBLISH is an initial one again.
    void pub.publish('alice', 2);
    const third = await esc.next();
    expect(splitSipMessage(third.text)?.headers.some((h) => h.name === 'sip-if-match')).toBe(false);
  });

  it('retransmits an unanswered PUBLISH after T1 and gives up with 408 at its timeout', async () => {
    const esc = await peer();
    const pub = await PresencePublisher.start({ server: { address: '127.0.0.1', port: esc.port }, domain: 'localhost', timeoutMs: 700 });
    closers.push(() => pub.close());
    const answer = pub.publish('bob', 0);
    const a = await esc.next();
    const b = await esc.next(2000);
    expect(b.text).toBe(a.text);
    expect(await answer).toBe(408);
    expect(pub.retransmissions).toBe(1);
    expect(pub.inFlight).toBe(0);
  });

  it('paces PUBLISHes at the asked rate', async () => {
    const esc = await peer();
    const pub = await PresencePublisher.start({ server: { address: '127.0.0.1', port: esc.port }, domain: 'localhost', timeoutMs: 100 });
    closers.push(() => pub.close());
    const items = Array.from({ length: 21 }, (_, i) => ({ user: `p${i}`, seq: i }));
    const sent: number[] = [];
    const { answers, sendRate } = await pub.publishAtRate(items, 100, (item) => sent.push(item.seq));
    expect(sent).toEqual(items.map((i) => i.seq));
    // 21 PUBLISHes at 100/s span ~200 ms; timers only make it slower, never faster.
    expect(sendRate).toBeLessThanOrEqual(110);
    expect(sendRate).toBeGreaterThan(50);
    expect(await Promise.all(answers)).toEqual(items.map(() => 408));
  });
});
