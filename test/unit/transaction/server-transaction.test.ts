import { describe, expect, it } from 'vitest';
import type { ServerTransaction, TerminationReason } from '../../../src/transaction/index.js';
import { flush, request, responseTo, setup, source } from './helpers.js';

function expectNew(outcome: ReturnType<ReturnType<typeof setup>['layer']['receiveRequest']>): ServerTransaction {
  if (outcome.kind !== 'new') throw new Error(`expected new, got ${outcome.kind}`);
  return outcome.transaction;
}

describe('non-INVITE server transaction (RFC 3261 §17.2.2)', () => {
  it('absorbs retransmissions in trying, re-sends the last provisional in proceeding and the final in completed', async () => {
    const { transport, layer } = setup();
    const req = request({ method: 'MESSAGE' });
    const tx = expectNew(layer.receiveRequest(req, source()));
    expect(tx.state).toBe('trying');
    expect(layer.receiveRequest(request({ method: 'MESSAGE' }), source())).toEqual({ kind: 'retransmission' });
    expect(transport.sent).toHaveLength(0);

    await tx.respond(responseTo(req, 100));
    expect(tx.state).toBe('proceeding');
    layer.receiveRequest(request({ method: 'MESSAGE' }), source());
    expect(transport.timesOf('SIP/2.0 100')).toHaveLength(2);

    await tx.respond(responseTo(req, 202, 'srv'));
    expect(tx.state).toBe('completed');
    expect(tx.finalSent).toBe(true);
    expect(layer.receiveRequest(request({ method: 'MESSAGE' }), source())).toEqual({ kind: 'retransmission' });
    expect(transport.count('SIP/2.0 202')).toBe(2);
    // Later finals are discarded.
    await tx.respond(responseTo(req, 500, 'srv'));
    expect(transport.count('SIP/2.0 500')).toBe(0);
    expect(transport.sent.every((s) => s.destination.address === '192.0.2.10' && s.destination.port === 5070)).toBe(true);
  });

  it('keeps the request until the final and only the final’s own bytes after it (memory for Timer J)', async () => {
    const { transport, layer } = setup();
    const req = request({ method: 'MESSAGE' });
    const tx = expectNew(layer.receiveRequest(req, source()));
    expect(tx.request).toBe(req);
    await tx.respond(responseTo(req, 200, 'srv'));
    expect(tx.request).toBeUndefined();
    layer.receiveRequest(request({ method: 'MESSAGE' }), source());
    const [first, again] = transport.sent.filter((x) => x.text.startsWith('SIP/2.0 200')).map((x) => x.data);
    expect(again!.equals(first!)).toBe(true);
    // Not a slice of Node's shared allocation pool: the retained bytes own their memory.
    expect(again!.byteOffset).toBe(0);
    expect(again!.buffer.byteLength).toBe(again!.length);
  });

  it('ends on Timer J = 64*T1 on UDP', async () => {
    const { clock, layer } = setup();
    const req = request({ method: 'OPTIONS' });
    const tx = expectNew(layer.receiveRequest(req, source()));
    const reasons: TerminationReason[] = [];
    tx.onTerminated((r) => reasons.push(r));
    await tx.respond(responseTo(req, 200, 'srv'));
    clock.advance(31_999);
    expect(tx.state).toBe('completed');
    clock.advance(1);
    expect(tx.state).toBe('terminated');
    expect(reasons).toEqual(['normal']);
    expect(layer.size).toBe(0);
    // After termination a retransmission is a new request again.
    expect(layer.receiveRequest(request({ method: 'OPTIONS' }), source()).kind).toBe('new');
  });

  it('Timer J is zero on TCP', async () => {
    const { clock, transport, layer } = setup();
    const req = request({ method: 'REGISTER', via: 'SIP/2.0/TCP 192.0.2.10:5070;branch=z9hG4bK-r1' });
    const tx = expectNew(layer.receiveRequest(req, source('tcp', 'flow-1')));
    await tx.respond(responseTo(req, 200, 'srv'));
    expect(tx.state).toBe('terminated');
    expect(clock.pendingCount).toBe(0);
    expect(transport.last().destination).toEqual({ transport: 'tcp', address: '192.0.2.10', port: 5070, flow: 'flow-1' });
  });

  it('answers at received/rport', async () => {
    const { transport, layer } = setup();
    const req = request({ method: 'OPTIONS', via: 'SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK-n1;received=198.51.100.7;rport=40000' });
    const tx = expectNew(layer.receiveRequest(req, source()));
    expect(tx.destination).toEqual({ transport: 'udp', address: '198.51.100.7', port: 40000 });
    await tx.respond(responseTo(req, 200, 'x'));
    expect(transport.last().destination).toEqual({ transport: 'udp', address: '198.51.100.7', port: 40000 });
  });

  it('reports a send failure to the TU and keeps its state (RFC 6026 §8.8)', async () => {
    const { clock, transport, layer } = setup();
    transport.failing = true;
    const req = request({ method: 'OPTIONS' });
    const tx = expectNew(layer.receiveRequest(req, source()));
    const errors: unknown[] = [];
    tx.onTransportError((e) => errors.push(e));
    await tx.respond(responseTo(req, 200, 'x'));
    await flush();
    expect(errors).toHaveLength(1);
    expect(tx.state).toBe('completed');
    clock.advance(32_000);
    expect(tx.state).toBe('terminated');
  });

  it('opens a new connection to received + sent-by port when the TCP flow is gone (§18.2.2)', async () => {
    const { transport, layer } = setup();
    transport.failing = (d) => d.flow !== undefined;
    const req = request({ method: 'OPTIONS', via: 'SIP/2.0/TCP 10.0.0.5:5080;branch=z9hG4bK-f1;received=198.51.100.7' });
    const tx = expectNew(layer.receiveRequest(req, source('tcp', 'dead-flow')));
    const errors: unknown[] = [];
    tx.onTransportError((e) => errors.push(e));
    await tx.respond(responseTo(req, 200, 'x'));
    expect(transport.sent.map((s) => s.destination)).toEqual([
      { transport: 'tcp', address: '192.0.2.10', port: 5070, flow: 'dead-flow' },
      { transport: 'tcp', address: '198.51.100.7', port: 5080 },
    ]);
    expect(errors).toEqual([]);
  });

  it('rejects a status outside 100-699', () => {
    const { layer } = setup();
    const req = request({ method: 'OPTIONS' });
    const tx = expectNew(layer.receiveRequest(req, source()));
    expect(() => tx.respond(responseTo(req, 700))).toThrow(expect.objectContaining({ code: 'INTERNAL' }));
  });
});

describe('INVITE server transaction (RFC 3261 §17.2.1, RFC 6026 §8.5-§8.7)', () => {
  it('sends 100 Trying after 200 ms when the TU is silent, and re-sends it for a retransmission', () => {
    const { clock, transport, layer } = setup();
    const req = request({ via: 'SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bK-i1', route: [] });
    req.append('timestamp', '54');
    const tx = expectNew(layer.receiveRequest(req, source()));
    expect(tx.state).toBe('proceeding');
    clock.advance(199);
    expect(transport.sent).toHaveLength(0);
    clock.advance(1);
    expect(transport.count('SIP/2.0 100 Trying')).toBe(1);
    const trying = transport.last().text;
    expect(trying).toMatch(/\r\nto: <sip:bob@example\.com>\r\n/i); // no To tag
    expect(trying).toMatch(/\r\ntimestamp: 54\r\n/i);
    expect(layer.receiveRequest(request({ via: 'SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bK-i1' }), source())).toEqual({ kind: 'retransmission' });
    expect(transport.count('SIP/2.0 100 Trying')).toBe(2);
  });

  it('sends no 100 when the TU answers first, or when disabled', async () => {
    const first = setup();
    const req = request();
    const tx = expectNew(first.layer.receiveRequest(req, source()));
    await tx.respond(responseTo(req, 180, 'r'));
    first.clock.advance(1_000);
    expect(first.transport.count('SIP/2.0 100')).toBe(0);
    expect(first.transport.count('SIP/2.0 180')).toBe(1);

    const second = setup(undefined, false);
    expectNew(second.layer.receiveRequest(request(), source()));
    second.clock.advance(1_000);
    expect(second.transport.sent).toHaveLength(0);
  });

  it('3xx-6xx: Completed with Timer G doubling to T2, ACK -> Confirmed, Timer I = T4', async () => {
    const { clock, transport, layer } = setup();
    const req = request();
    const tx = expectNew(layer.receiveRequest(req, source()));
    await tx.respond(responseTo(req, 486, 'busy'));
    expect(tx.state).toBe('completed');
    clock.advance(15_600);
    expect(transport.timesOf('SIP/2.0 486')).toEqual([0, 500, 1500, 3500, 7500, 11500, 15500]);
    // A retransmitted INVITE gets the final again.
    layer.receiveRequest(request(), source());
    expect(transport.count('SIP/2.0 486')).toBe(8);

    const ack = request({ method: 'ACK', toTag: 'busy' });
    const outcome = layer.receiveRequest(ack, source());
    expect(outcome).toEqual({ kind: 'ack', transaction: tx });
    expect(tx.state).toBe('confirmed');
    clock.advance(4_999);
    expect(transport.count('SIP/2.0 486')).toBe(8);
    // Further ACKs are absorbed in Confirmed.
    expect(layer.receiveRequest(ack, source())).toEqual({ kind: 'ack', transaction: tx });
    expect(tx.state).toBe('confirmed');
    clock.advance(1);
    expect(tx.state).toBe('terminated');
    expect(clock.pendingCount).toBe(0);
  });

  it('Timer H fires without an ACK and reports a timeout', async () => {
    const { clock, transport, layer } = setup();
    const req = request();
    const tx = expectNew(layer.receiveRequest(req, source()));
    const reasons: TerminationReason[] = [];
    tx.onTerminated((r) => reasons.push(r));
    await tx.respond(responseTo(req, 404, 'nf'));
    clock.advance(31_999);
    expect(tx.state).toBe('completed');
    clock.advance(1);
    expect(tx.state).toBe('terminated');
    expect(reasons).toEqual(['timeout']);
    // G: 500,1000,2000,4000,4000... up to 32000 -> 11 sends including the first
    expect(transport.count('SIP/2.0 404')).toBe(11);
    expect(clock.pendingCount).toBe(0);
  });

  it('no Timer G on TCP; ACK ends it at once (Timer I = 0)', async () => {
    const { clock, transport, layer } = setup();
    const via = 'SIP/2.0/TCP 192.0.2.10:5070;branch=z9hG4bK-tcp';
    const req = request({ via });
    const tx = expectNew(layer.receiveRequest(req, source('tcp', 'f')));
    await tx.respond(responseTo(req, 480, 'u'));
    clock.advance(10_000);
    expect(transport.count('SIP/2.0 480')).toBe(1);
    layer.receiveRequest(request({ method: 'ACK', via, toTag: 'u' }), source('tcp', 'f'));
    expect(tx.state).toBe('terminated');
    expect(clock.pendingCount).toBe(0);
  });

  it('2xx: Accepted, absorbs INVITE retransmissions, sends TU 2xx retransmissions, ACKs pass through, Timer L', async () => {
    const { clock, transport, layer } = setup();
    const req = request();
    const tx = expectNew(layer.receiveRequest(req, source()));
    await tx.respond(responseTo(req, 200, 'ok'));
    expect(tx.state).toBe('accepted');
    expect(tx.finalSent).toBe(true);
    clock.advance(2_000);
    expect(transport.count('SIP/2.0 200')).toBe(1); // the transaction does not retransmit 2xx
    expect(layer.receiveRequest(request(), source())).toEqual({ kind: 'retransmission' });
    expect(transport.count('SIP/2.0 200')).toBe(1);
    await tx.respond(responseTo(req, 200, 'ok'));
    expect(transport.count('SIP/2.0 200')).toBe(2);
    // Non-2xx after a 2xx is ignored.
    await tx.respond(responseTo(req, 500, 'ok'));
    expect(transport.count('SIP/2.0 500')).toBe(0);
    // The ACK for a 2xx has its own branch: not this transaction's.
    expect(layer.receiveRequest(request({ method: 'ACK', branch: 'z9hG4bK-ack2xx', toTag: 'ok' }), source())).toEqual({ kind: 'ack' });
    // Even with the INVITE's branch it passes to the TU (RFC 6026 Figure 5 "ACK / to TU").
    expect(layer.receiveRequest(request({ method: 'ACK', toTag: 'ok' }), source())).toEqual({ kind: 'ack' });
    expect(tx.state).toBe('accepted');
    clock.advance(29_999);
    expect(tx.state).toBe('accepted');
    clock.advance(1);
    expect(tx.state).toBe('terminated');
    expect(clock.pendingCount).toBe(0);
  });

  it('ignores a provisional after the final', async () => {
    const { transport, layer } = setup();
    const req = request();
    const tx = expectNew(layer.receiveRequest(req, source()));
    await tx.respond(responseTo(req, 603, 'd'));
    await tx.respond(responseTo(req, 180, 'd'));
    expect(transport.count('SIP/2.0 180')).toBe(0);
  });

  it('a stray ACK matches nothing', () => {
    const { layer } = setup();
    expect(layer.receiveRequest(request({ method: 'ACK', toTag: 'zz' }), source())).toEqual({ kind: 'ack' });
    expect(layer.size).toBe(0);
  });
});
