/**
 * The presence benchmark's pure helpers: the PUBLISH it sends, the 200 it answers NOTIFYs with,
 * the note that carries a PUBLISH's sequence number and send time, the fan-out bookkeeping
 * (delivered / superseded / late / missing) and the /proc readers.
 */
import { describe, expect, it } from 'vitest';
import {
  FanoutTracker,
  answerNotify,
  benchNote,
  highestSustainedFanout,
  pidfBody,
  publishRequest,
  readBenchNote,
  readResponse,
  splitSipMessage,
  subscriptionsCsv,
  userOf,
} from '../../../bench/lib/presence-sip.mjs';
import { parseProcStatTicks, parseUdpDrops } from '../../../bench/lib/herald-process.mjs';
import { SipRequest, SipResponse, parseMessage } from '../../../src/sip/index.js';

const NOTIFY_BODY = [
  '<?xml version="1.0" encoding="UTF-8"?>',
  '<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:bp7@localhost">',
  '<tuple id="bench"><status><basic>open</basic></status><note>bench seq=42 sent=1234.500</note></tuple>',
  '</presence>',
  '',
].join('\n');

function notify(headers: string[], body = NOTIFY_BODY): string {
  return [...headers, `Content-Length: ${Buffer.byteLength(body)}`, '', body].join('\r\n');
}

const NOTIFY = notify([
  'NOTIFY sip:bw7@127.0.0.1:40000 SIP/2.0',
  'Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKa1',
  'Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKa0',
  'From: <sip:bp7@localhost>;tag=srv1',
  'To: <sip:bw7@localhost>;tag=1234SIPpTag007',
  'Call-ID: 7-1234@127.0.0.1',
  'CSeq: 3 NOTIFY',
  'Max-Forwards: 70',
  'Event: presence',
  'Subscription-State: active;expires=3599',
  'Content-Type: application/pidf+xml',
]);

describe('benchNote / readBenchNote', () => {
  it('round-trips the sequence number and the send time through a PIDF body', () => {
    const body = pidfBody({ user: 'bp7', domain: 'localhost', open: true, note: benchNote(42, 1234.5) });
    expect(readBenchNote(body)).toEqual({ seq: 42, sentAt: 1234.5 });
  });

  it('finds nothing in a body without a bench note, or with a broken one', () => {
    expect(readBenchNote('<presence><tuple><note>away</note></tuple></presence>')).toBeUndefined();
    expect(readBenchNote('<note>bench seq= sent=1</note>')).toBeUndefined();
    expect(readBenchNote('<note>bench seq=5 sent=abc</note>')).toBeUndefined();
  });
});

describe('pidfBody / publishRequest', () => {
  it('builds a PUBLISH the server-side parser accepts, with a Content-Length that matches the body', () => {
    const body = pidfBody({ user: 'alice', domain: 'localhost', open: false, note: benchNote(1, 2) });
    expect(body).toContain('<basic>closed</basic>');
    const text = publishRequest({ user: 'alice', domain: 'localhost', local: { address: '127.0.0.1', port: 5070 }, callId: 'c1@x', branch: 'z9hG4bKabcdef123456', body });
    const msg = parseMessage(Buffer.from(text, 'utf8'));
    if (!(msg instanceof SipRequest)) throw new Error('not a request');
    expect(msg.method).toBe('PUBLISH');
    expect(msg.get('event')).toBe('presence');
    expect(msg.get('content-type')).toBe('application/pidf+xml');
    expect(msg.get('sip-if-match')).toBeUndefined();
    expect(msg.body.toString('utf8')).toBe(body);
  });

  it('quotes the entity-tag in SIP-If-Match when it modifies a publication', () => {
    const text = publishRequest({ user: 'alice', domain: 'localhost', local: { address: '127.0.0.1', port: 5070 }, callId: 'c2@x', branch: 'z9hG4bKabcdef654321', body: 'x', etag: 'etag-1' });
    expect(text).toContain('\r\nSIP-If-Match: etag-1\r\n');
  });
});

describe('answerNotify', () => {
  it('answers 200 with Via (all of them, in order), From, To, Call-ID and CSeq copied', () => {
    const a = answerNotify(NOTIFY);
    if (!a) throw new Error('no answer');
    expect(a.reply.startsWith('SIP/2.0 200 OK\r\n')).toBe(true);
    expect(a.reply.endsWith('Content-Length: 0\r\n\r\n')).toBe(true);
    const res = parseMessage(Buffer.from(a.reply, 'latin1'));
    if (!(res instanceof SipResponse)) throw new Error('not a response');
    expect(res.status).toBe(200);
    expect(res.getAll('via')).toEqual(['SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKa1', 'SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKa0']);
    expect(res.get('to')).toBe('<sip:bw7@localhost>;tag=1234SIPpTag007');
    expect(res.get('cseq')).toBe('3 NOTIFY');
    expect(a).toMatchObject({ callId: '7-1234@127.0.0.1', cseq: 3, presentity: 'bp7', state: 'active', note: { seq: 42, sentAt: 1234.5 } });
  });

  it('reads compact header forms and a terminated state', () => {
    const a = answerNotify(notify([
      'NOTIFY sip:w@127.0.0.1 SIP/2.0',
      'v: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKc',
      'f: <sip:p1@localhost>;tag=a',
      't: <sip:w@localhost>;tag=b',
      'i: cid-9',
      'CSeq: 9 NOTIFY',
      'Subscription-State: terminated;reason=timeout',
    ], ''));
    expect(a).toMatchObject({ callId: 'cid-9', cseq: 9, presentity: 'p1', state: 'terminated', note: undefined });
    expect(a?.reply).toContain('\r\nv: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKc\r\n');
  });

  it('ignores what is not a NOTIFY request', () => {
    expect(answerNotify('SIP/2.0 200 OK\r\nCall-ID: x\r\n\r\n')).toBeUndefined();
    expect(answerNotify('OPTIONS sip:x SIP/2.0\r\n\r\n')).toBeUndefined();
    expect(answerNotify('NOTIFY sip:x SIP/2.0\r\nVia: y')).toBeUndefined();
  });
});

describe('splitSipMessage / userOf / readResponse / subscriptionsCsv', () => {
  it('splits headers and body at the first blank line', () => {
    const m = splitSipMessage('A B C\r\nX-One: 1\r\nbroken line\r\n\r\nbody\r\n\r\nmore');
    expect(m?.startLine).toBe('A B C');
    expect(m?.headers).toEqual([{ name: 'x-one', value: '1', line: 'X-One: 1' }]);
    expect(m?.body).toBe('body\r\n\r\nmore');
  });

  it('takes the user part of a name-addr or addr-spec', () => {
    expect(userOf('"Bob" <sip:bob@example.org>;tag=1')).toBe('bob');
    expect(userOf('sip:carol@localhost')).toBe('carol');
    expect(userOf('<tel:+123>')).toBe('');
  });

  it('reads status, Call-ID and SIP-ETag of a response', () => {
    const r = readResponse('SIP/2.0 200 OK\r\nCall-ID: pub-1\r\nSIP-ETag: abc\r\nExpires: 3600\r\nContent-Length: 0\r\n\r\n');
    expect(r).toEqual({ status: 200, callId: 'pub-1', etag: 'abc' });
    expect(readResponse('SIP/2.0 412 Conditional Request Failed\r\nCall-ID: pub-2\r\n\r\n')).toEqual({ status: 412, callId: 'pub-2', etag: undefined });
    expect(readResponse('PUBLISH sip:a@b SIP/2.0\r\n\r\n')).toBeUndefined();
  });

  it('writes the SIPp injection file: SEQUENTIAL, then watcher;presentity; per line', () => {
    expect(subscriptionsCsv([{ watcher: 'w0', presentity: 'p0' }, { watcher: 'w1', presentity: 'p0' }])).toBe('SEQUENTIAL\nw0;p0;\nw1;p0;\n');
  });
});

describe('FanoutTracker', () => {
  it('counts NOTIFYs within the bound as delivered, later ones as late, absent ones as missing', () => {
    const t = new FanoutTracker({ boundMs: 100 });
    t.sent(0, 'p', 1000, 3);
    t.answered(0, 200);
    expect(t.arrived(0, 1010, 'd1')).toBe(true);
    t.arrived(0, 1050, 'd2');
    expect(t.outstanding()).toBe(1);
    expect(t.arrived(99, 1060, 'd3')).toBe(false);
    const s = t.summary();
    expect(s).toMatchObject({ publishes: 1, publishFailures: 0, expected: 3, delivered: 2, superseded: 0, late: 0, missing: 1, failed: 1, received: 2 });
    expect(s.failurePct).toBeCloseTo(100 / 3, 6);
    expect(s.p50).toBe(10);
    expect(s.max).toBe(50);
    expect(s.notifyRate).toBeCloseTo(2 * 1000 / 50, 6);
    t.arrived(0, 1200, 'd3');
    expect(t.summary()).toMatchObject({ delivered: 2, late: 1, missing: 0, failed: 1 });
    expect(t.outstanding()).toBe(0);
  });

  it('counts a state the watcher skipped as superseded when a later one came within the bound of it', () => {
    const t = new FanoutTracker({ boundMs: 100 });
    t.sent(0, 'p', 0, 1);
    t.sent(1, 'p', 10, 1);
    t.sent(2, 'p', 20, 1);
    t.sent(3, 'q', 25, 1);
    t.arrived(0, 5, 'd');
    // seq 1 coalesced into seq 2 for dialog d; seq 3 is another presentity's and stays missing.
    t.arrived(2, 40, 'd');
    expect(t.summary()).toMatchObject({ expected: 4, delivered: 2, superseded: 1, late: 0, missing: 1, failed: 1 });
  });

  it('counts a skipped state as late when the state that replaced it came after the bound', () => {
    const t = new FanoutTracker({ boundMs: 100 });
    t.sent(0, 'p', 0, 1);
    t.sent(1, 'p', 50, 1);
    t.arrived(1, 120, 'd');
    expect(t.summary()).toMatchObject({ delivered: 1, superseded: 0, late: 1, missing: 0, failed: 1, failurePct: 50 });
  });

  it('counts a PUBLISH with no answer or a non-2xx as a publish failure', () => {
    const t = new FanoutTracker({ boundMs: 100 });
    t.sent(0, 'p', 0, 1);
    t.sent(1, 'p', 1, 1);
    t.sent(2, 'p', 2, 1);
    t.answered(0, 200);
    t.answered(1, 412);
    expect(t.summary().publishFailures).toBe(2);
  });

  it('gives NaN figures when nothing was sent or received', () => {
    const s = new FanoutTracker({ boundMs: 100 }).summary();
    expect(s.expected).toBe(0);
    expect(s.failurePct).toBeNaN();
    expect(s.notifyRate).toBeNaN();
    expect(s.p99).toBeNaN();
  });
});

describe('highestSustainedFanout', () => {
  const step = (offeredNotifyRate: number, notifyRate: number, failurePct: number) => ({ offeredNotifyRate, notifyRate, failurePct });

  it('picks the highest offered rate with < 1% failures and >= 90% of it delivered', () => {
    const steps = [step(1000, 1000, 0), step(2000, 1990, 0.5), step(4000, 3000, 0), step(8000, 7900, 3)];
    expect(highestSustainedFanout(steps)).toBe(steps[1]);
  });

  it('is undefined when no step qualifies', () => {
    expect(highestSustainedFanout([step(1000, 500, 0), step(2000, 2000, 1)])).toBeUndefined();
  });
});

describe('/proc readers', () => {
  it('adds utime and stime of a stat line, whatever the command name holds', () => {
    const fields = ['S', '1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '250', '50', '0', '0'];
    expect(parseProcStatTicks(`1234 (node (x) y) ${fields.join(' ')}`)).toBe(300);
    expect(parseProcStatTicks('garbage')).toBeUndefined();
  });

  it('reads the drops column of the socket bound to a port', () => {
    const text = [
      '   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops            ',
      '16099: 0100007F:3AD4 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 183290 2 0000000034eedbac 17        ',
      '16100: 0100007F:13C4 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 183291 2 0000000034eedbad 0        ',
      '',
    ].join('\n');
    expect(parseUdpDrops(text, 0x3ad4)).toBe(17);
    expect(parseUdpDrops(text, 5060)).toBe(0);
    expect(parseUdpDrops(text, 9)).toBeUndefined();
  });
});
