import { describe, expect, it } from 'vitest';
import { destination, flush, recorder, request, responseTo, setup, source } from './helpers.js';

const INVITE_LINE = 'INVITE sip:bob@example.com SIP/2.0';
const OPTIONS_LINE = 'OPTIONS sip:bob@example.com SIP/2.0';

describe('INVITE client transaction (RFC 3261 §17.1.1, RFC 6026 §8.4)', () => {
  it('retransmits on Timer A doubling (500, 1000, 2000...) and times out on Timer B at 64*T1', () => {
    const { clock, transport, layer } = setup();
    const ev = recorder();
    const tx = layer.sendRequest(request(), destination(), ev);
    expect(tx.state).toBe('calling');
    clock.advance(31_999);
    expect(transport.timesOf(INVITE_LINE)).toEqual([0, 500, 1500, 3500, 7500, 15500, 31500]);
    expect(ev.timeouts).toBe(0);
    clock.advance(1);
    expect(ev.timeouts).toBe(1);
    expect(ev.finals).toEqual([]);
    expect(tx.state).toBe('terminated');
    expect(layer.size).toBe(0);
    expect(clock.pendingCount).toBe(0);
  });

  it('does not retransmit on TCP, still times out on Timer B', () => {
    const { clock, transport, layer } = setup();
    const ev = recorder();
    layer.sendRequest(request({ via: 'SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bK-t1' }), destination('tcp'), ev);
    clock.advance(32_000);
    expect(transport.count(INVITE_LINE)).toBe(1);
    expect(ev.timeouts).toBe(1);
  });

  it('honours a configured T1', () => {
    const { clock, transport, layer } = setup({ t1: 100 });
    const ev = recorder();
    layer.sendRequest(request(), destination(), ev);
    clock.advance(6_400);
    expect(transport.timesOf(INVITE_LINE)).toEqual([0, 100, 300, 700, 1500, 3100, 6300]);
    expect(ev.timeouts).toBe(1);
  });

  it('stops retransmitting and Timer B on a provisional response', () => {
    const { clock, transport, layer } = setup();
    const ev = recorder();
    const req = request();
    const tx = layer.sendRequest(req, destination(), ev);
    clock.advance(600);
    expect(layer.receiveResponse(responseTo(req, 180, 'tt'), source())).toBe(true);
    expect(tx.state).toBe('proceeding');
    expect(ev.provisional).toEqual([180]);
    clock.advance(100_000);
    expect(transport.count(INVITE_LINE)).toBe(2);
    expect(ev.timeouts).toBe(0);
    expect(tx.state).toBe('proceeding');
    expect(clock.pendingCount).toBe(0);
    tx.terminate();
    expect(layer.size).toBe(0);
  });

  it('ACKs a 3xx-6xx (§17.1.1.3), re-ACKs retransmissions without telling the TU, ends on Timer D', () => {
    const { clock, transport, layer } = setup();
    const ev = recorder();
    const req = request({ route: ['<sip:proxy.example.com;lr>'] });
    const tx = layer.sendRequest(req, destination(), ev);
    const busy = responseTo(req, 486, 'callee-tag');
    layer.receiveResponse(busy, source());
    expect(tx.state).toBe('completed');
    expect(ev.finals).toEqual([486]);
    const ack = transport.last();
    expect(ack.destination).toEqual(destination());
    expect(ack.text.startsWith('ACK sip:bob@example.com SIP/2.0\r\n')).toBe(true);
    expect(ack.text).toMatch(/\r\nvia: SIP\/2\.0\/UDP 192\.0\.2\.10:5070;branch=z9hG4bK-a1\r\n/i);
    expect(ack.text.match(/\r\nvia:/gi)).toHaveLength(1);
    expect(ack.text).toMatch(/\r\nto: <sip:bob@example\.com>;tag=callee-tag\r\n/i);
    expect(ack.text).toMatch(/\r\nfrom: <sip:alice@example\.com>;tag=from1\r\n/i);
    expect(ack.text).toMatch(/\r\ncseq: 1 ACK\r\n/i);
    expect(ack.text).toMatch(/\r\nroute: <sip:proxy\.example\.com;lr>\r\n/i);
    expect(ack.text).toMatch(/\r\ncall-id: call-1@192\.0\.2\.10\r\n/i);

    expect(layer.receiveResponse(responseTo(req, 486, 'callee-tag'), source())).toBe(true);
    expect(transport.count('ACK ')).toBe(2);
    expect(ev.finals).toEqual([486]);
    // No INVITE retransmissions once completed.
    clock.advance(31_999);
    expect(transport.count(INVITE_LINE)).toBe(1);
    expect(tx.state).toBe('completed');
    clock.advance(1);
    expect(tx.state).toBe('terminated');
    expect(layer.size).toBe(0);
    expect(layer.receiveResponse(responseTo(req, 486, 'callee-tag'), source())).toBe(false);
  });

  it('Timer D is zero on TCP: terminated right after the ACK', () => {
    const { clock, transport, layer } = setup();
    const ev = recorder();
    const req = request({ via: 'SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bK-t2' });
    const tx = layer.sendRequest(req, destination('tcp'), ev);
    layer.receiveResponse(responseTo(req, 603, 'x'), source('tcp'));
    expect(transport.count('ACK ')).toBe(1);
    expect(tx.state).toBe('terminated');
    expect(clock.pendingCount).toBe(0);
  });

  it('moves to Accepted on 2xx, sends no ACK, passes further 2xx up, ends on Timer M', () => {
    const { clock, transport, layer } = setup();
    const ev = recorder();
    const req = request();
    const tx = layer.sendRequest(req, destination(), ev);
    layer.receiveResponse(responseTo(req, 200, 'a'), source());
    expect(tx.state).toBe('accepted');
    expect(ev.finals).toEqual([200]);
    expect(transport.count('ACK ')).toBe(0);
    layer.receiveResponse(responseTo(req, 200, 'a'), source());
    layer.receiveResponse(responseTo(req, 200, 'b'), source());
    expect(ev.additional).toEqual([200, 200]);
    expect(ev.finals).toEqual([200]);
    // A late non-2xx is not for this machine.
    layer.receiveResponse(responseTo(req, 500, 'c'), source());
    expect(ev.finals).toEqual([200]);
    expect(transport.count('ACK ')).toBe(0);
    clock.advance(31_999);
    expect(tx.state).toBe('accepted');
    expect(transport.count(INVITE_LINE)).toBe(1);
    clock.advance(1);
    expect(tx.state).toBe('terminated');
    expect(clock.pendingCount).toBe(0);
  });

  it('reports a transport error to the TU and terminates', async () => {
    const { clock, transport, layer } = setup();
    transport.failing = true;
    const ev = recorder();
    const tx = layer.sendRequest(request(), destination(), ev);
    await flush();
    expect(ev.transportErrors).toHaveLength(1);
    expect((ev.transportErrors[0] as { code: string }).code).toBe('TRANSPORT_ERROR');
    expect(ev.timeouts).toBe(0);
    expect(tx.state).toBe('terminated');
    expect(clock.pendingCount).toBe(0);
  });

  it('waits for a provisional before sending CANCEL (§9.1), with the INVITE branch and its own transaction', () => {
    const { clock, transport, layer } = setup();
    const ev = recorder();
    const req = request({ route: ['<sip:proxy.example.com;lr>'] });
    const tx = layer.sendRequest(req, destination(), ev);
    const cancelEvents = recorder();
    expect(tx.cancel?.({ events: cancelEvents, headers: [['Reason', 'SIP;cause=487']] })).toBe(true);
    expect(transport.count('CANCEL ')).toBe(0);
    expect(tx.cancel?.()).toBe(false);
    layer.receiveResponse(responseTo(req, 180, 'ring'), source());
    expect(transport.count('CANCEL ')).toBe(1);
    const cancel = transport.last();
    expect(cancel.text.startsWith('CANCEL sip:bob@example.com SIP/2.0\r\n')).toBe(true);
    expect(cancel.text).toMatch(/\r\nvia: SIP\/2\.0\/UDP 192\.0\.2\.10:5070;branch=z9hG4bK-a1\r\n/i);
    expect(cancel.text).toMatch(/\r\ncseq: 1 CANCEL\r\n/i);
    expect(cancel.text).toMatch(/\r\nto: <sip:bob@example\.com>\r\n/i);
    expect(cancel.text).toMatch(/\r\nroute: <sip:proxy\.example\.com;lr>\r\n/i);
    expect(cancel.text).toMatch(/\r\nreason: SIP;cause=487\r\n/i);
    expect(layer.size).toBe(2);

    // The 200 to the CANCEL matches the CANCEL transaction (same branch, CSeq method CANCEL).
    const cancelReq = request({ method: 'CANCEL' });
    expect(layer.receiveResponse(responseTo(cancelReq, 200, 'ring'), source())).toBe(true);
    expect(cancelEvents.finals).toEqual([200]);
    expect(ev.finals).toEqual([]);
    layer.receiveResponse(responseTo(req, 487, 'ring'), source());
    expect(ev.finals).toEqual([487]);
    expect(transport.count('ACK ')).toBe(1);
    clock.advance(40_000);
    expect(layer.size).toBe(0);
    expect(clock.pendingCount).toBe(0);
  });

  it('sends CANCEL at once in proceeding and gives up 64*T1 later without a final', () => {
    const { clock, transport, layer } = setup();
    const ev = recorder();
    const req = request();
    const tx = layer.sendRequest(req, destination(), ev);
    layer.receiveResponse(responseTo(req, 183, 'p'), source());
    expect(tx.cancel?.()).toBe(true);
    expect(transport.count('CANCEL ')).toBe(1);
    clock.advance(31_999);
    expect(ev.timeouts).toBe(0);
    clock.advance(1);
    expect(ev.timeouts).toBe(1);
    expect(tx.state).toBe('terminated');
  });

  it('does not CANCEL after a final response', () => {
    const { transport, layer } = setup();
    const ev = recorder();
    const req = request();
    const tx = layer.sendRequest(req, destination(), ev);
    expect(tx.cancel?.()).toBe(true);
    layer.receiveResponse(responseTo(req, 200, 'a'), source());
    expect(transport.count('CANCEL ')).toBe(0);
    expect(tx.cancel?.()).toBe(false);
  });
});

describe('non-INVITE client transaction (RFC 3261 §17.1.2)', () => {
  it('retransmits on Timer E capped at T2 and times out on Timer F at 64*T1', () => {
    const { clock, transport, layer } = setup();
    const ev = recorder();
    const tx = layer.sendRequest(request({ method: 'OPTIONS' }), destination(), ev);
    expect(tx.state).toBe('trying');
    expect(tx.cancel).toBeUndefined();
    clock.advance(31_999);
    expect(transport.timesOf(OPTIONS_LINE)).toEqual([0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]);
    expect(ev.timeouts).toBe(0);
    clock.advance(1);
    expect(ev.timeouts).toBe(1);
    expect(tx.state).toBe('terminated');
    expect(clock.pendingCount).toBe(0);
  });

  it('retransmits every T2 in proceeding', () => {
    const { clock, transport, layer } = setup();
    const ev = recorder();
    const req = request({ method: 'OPTIONS' });
    const tx = layer.sendRequest(req, destination(), ev);
    clock.advance(100);
    layer.receiveResponse(responseTo(req, 100), source());
    expect(tx.state).toBe('proceeding');
    expect(ev.provisional).toEqual([100]);
    clock.advance(12_500); // to t=12600
    expect(transport.timesOf(OPTIONS_LINE)).toEqual([0, 500, 4500, 8500, 12500]);
  });

  it('passes the final up once, absorbs retransmissions, and ends on Timer K = T4 on UDP', () => {
    const { clock, transport, layer } = setup();
    const ev = recorder();
    const req = request({ method: 'MESSAGE' });
    const tx = layer.sendRequest(req, destination(), ev);
    clock.advance(700);
    layer.receiveResponse(responseTo(req, 202, 'x'), source());
    expect(tx.state).toBe('completed');
    expect(ev.finals).toEqual([202]);
    expect(layer.receiveResponse(responseTo(req, 202, 'x'), source())).toBe(true);
    expect(ev.finals).toEqual([202]);
    clock.advance(10_000);
    expect(transport.count('MESSAGE ')).toBe(2); // t=0 and t=500 only
    expect(tx.state).toBe('terminated');
  });

  it('Timer K is exactly T4 on UDP', () => {
    const { clock, layer } = setup();
    const req = request({ method: 'MESSAGE' });
    const tx = layer.sendRequest(req, destination(), recorder());
    layer.receiveResponse(responseTo(req, 200, 'x'), source());
    clock.advance(4_999);
    expect(tx.state).toBe('completed');
    clock.advance(1);
    expect(tx.state).toBe('terminated');
  });

  it('Timer K is zero on TCP and there are no retransmissions', () => {
    const { clock, transport, layer } = setup();
    const ev = recorder();
    const req = request({ method: 'SUBSCRIBE', via: 'SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bK-s1' });
    const tx = layer.sendRequest(req, destination('tcp'), ev);
    clock.advance(20_000);
    expect(transport.count('SUBSCRIBE ')).toBe(1);
    layer.receiveResponse(responseTo(req, 200, 'x'), source('tcp'));
    expect(ev.finals).toEqual([200]);
    expect(tx.state).toBe('terminated');
    expect(clock.pendingCount).toBe(0);
    expect(layer.size).toBe(0);
  });

  it('a transport error on a retransmission informs the TU once', async () => {
    const { clock, transport, layer } = setup();
    const ev = recorder();
    const tx = layer.sendRequest(request({ method: 'OPTIONS' }), destination(), ev);
    transport.failing = true;
    clock.advance(500);
    await flush();
    expect(ev.transportErrors).toHaveLength(1);
    expect(tx.state).toBe('terminated');
    clock.advance(60_000);
    expect(ev.timeouts).toBe(0);
  });

  it('a TU callback that throws does not break the machine', () => {
    const { clock, layer } = setup();
    const req = request({ method: 'OPTIONS' });
    const tx = layer.sendRequest(req, destination(), {
      onFinal: () => {
        throw new Error('TU bug');
      },
      onTimeout: () => undefined,
      onTransportError: () => undefined,
    });
    layer.receiveResponse(responseTo(req, 200, 'x'), source());
    expect(tx.state).toBe('completed');
    clock.advance(5_000);
    expect(tx.state).toBe('terminated');
  });
});

describe('client matching (§17.1.3)', () => {
  it('matches on branch and CSeq method only', () => {
    const { layer } = setup();
    const ev = recorder();
    const req = request({ method: 'OPTIONS' });
    layer.sendRequest(req, destination(), ev);
    expect(layer.receiveResponse(responseTo(request({ method: 'OPTIONS', branch: 'z9hG4bK-other' }), 200), source())).toBe(false);
    expect(layer.receiveResponse(responseTo(request({ method: 'OPTIONS', cseqMethod: 'INFO' }), 200), source())).toBe(false);
    expect(ev.finals).toEqual([]);
    // A different Call-ID does not matter to §17.1.3 matching.
    expect(layer.receiveResponse(responseTo(request({ method: 'OPTIONS', callId: 'other' }), 200), source())).toBe(true);
    expect(ev.finals).toEqual([200]);
  });

  it('refuses ACK, a missing branch and a branch in use', () => {
    const { layer } = setup();
    expect(() => layer.sendRequest(request({ method: 'ACK' }), destination(), recorder())).toThrow(expect.objectContaining({ code: 'INTERNAL' }));
    expect(() => layer.sendRequest(request({ via: 'SIP/2.0/UDP 192.0.2.1' }), destination(), recorder())).toThrow(expect.objectContaining({ code: 'MISSING_HEADER' }));
    layer.sendRequest(request(), destination(), recorder());
    expect(() => layer.sendRequest(request(), destination(), recorder())).toThrow(expect.objectContaining({ code: 'INTERNAL' }));
  });

  it('ignores responses without a Via', () => {
    const { layer } = setup();
    const res = responseTo(request(), 200);
    res.remove('via');
    expect(layer.receiveResponse(res, source())).toBe(false);
  });
});
