import { describe, expect, it } from 'vitest';
import type { ServerRequestOutcome, ServerTransaction } from '../../../src/transaction/index.js';
import { destination, recorder, request, responseTo, setup, source } from './helpers.js';

function txOf(outcome: ServerRequestOutcome): ServerTransaction {
  if (outcome.kind !== 'new') throw new Error(`expected new, got ${outcome.kind}`);
  return outcome.transaction;
}

describe('server matching, RFC 3261 branches (§17.2.3)', () => {
  it('needs branch, sent-by and method to match', () => {
    const { layer } = setup();
    txOf(layer.receiveRequest(request({ method: 'OPTIONS' }), source()));
    expect(layer.receiveRequest(request({ method: 'OPTIONS' }), source()).kind).toBe('retransmission');
    // Same branch from another sent-by: a different transaction.
    expect(layer.receiveRequest(request({ method: 'OPTIONS', via: 'SIP/2.0/UDP 192.0.2.99:5070;branch=z9hG4bK-a1', fromTag: 'f9' }), source()).kind).toBe('new');
    // Same branch, sent-by, other method: a different transaction.
    expect(layer.receiveRequest(request({ method: 'INFO', fromTag: 'f8' }), source()).kind).toBe('new');
    expect(layer.size).toBe(3);
  });

  it('sent-by comparison ignores host case', () => {
    const { layer } = setup();
    txOf(layer.receiveRequest(request({ method: 'OPTIONS', via: 'SIP/2.0/UDP Client.Example.com:5070;branch=z9hG4bK-c' }), source()));
    expect(layer.receiveRequest(request({ method: 'OPTIONS', via: 'SIP/2.0/UDP client.example.com:5070;branch=z9hG4bK-c' }), source()).kind).toBe('retransmission');
  });
});

describe('CANCEL (§9.2)', () => {
  it('matches the INVITE server transaction and gets its own transaction', async () => {
    const { transport, layer } = setup();
    const invite = request();
    const inviteTx = txOf(layer.receiveRequest(invite, source()));
    const cancelReq = request({ method: 'CANCEL' });
    const outcome = layer.receiveRequest(cancelReq, source());
    if (outcome.kind !== 'cancel') throw new Error(outcome.kind);
    expect(outcome.transaction).toBe(inviteTx);
    expect(outcome.cancel).not.toBe(inviteTx);
    expect(outcome.cancel.request?.method).toBe('CANCEL');
    await outcome.cancel.respond(responseTo(cancelReq, 200, 't'));
    await inviteTx.respond(responseTo(invite, 487, 't'));
    expect(inviteTx.state).toBe('completed');
    // A retransmitted CANCEL is absorbed and answered again.
    expect(layer.receiveRequest(request({ method: 'CANCEL' }), source())).toEqual({ kind: 'retransmission' });
    expect(transport.count('SIP/2.0 200')).toBe(2);
  });

  it('reports no transaction for a CANCEL that matches nothing (the stack answers 481)', () => {
    const { layer } = setup();
    txOf(layer.receiveRequest(request(), source()));
    const outcome = layer.receiveRequest(request({ method: 'CANCEL', branch: 'z9hG4bK-unknown' }), source());
    expect(outcome.kind).toBe('cancel');
    if (outcome.kind === 'cancel') expect(outcome.transaction).toBeUndefined();
  });
});

describe('merged requests (§8.2.2.2)', () => {
  it('flags a second copy with another branch as merged, while the first lives', async () => {
    const { clock, transport, layer } = setup();
    const first = request({ method: 'MESSAGE', branch: 'z9hG4bK-path1' });
    const firstTx = txOf(layer.receiveRequest(first, source()));
    const second = request({ method: 'MESSAGE', branch: 'z9hG4bK-path2', via: 'SIP/2.0/UDP 192.0.2.77:5060;branch=z9hG4bK-path2' });
    const outcome = layer.receiveRequest(second, source());
    expect(outcome.kind).toBe('merged');
    if (outcome.kind !== 'merged') return;
    await outcome.transaction.respond(responseTo(second, 482, 'm'));
    expect(transport.last().text.startsWith('SIP/2.0 482')).toBe(true);
    // Its retransmission is absorbed by its own transaction, and the 482 re-sent.
    expect(layer.receiveRequest(request({ method: 'MESSAGE', via: 'SIP/2.0/UDP 192.0.2.77:5060;branch=z9hG4bK-path2' }), source()).kind).toBe('retransmission');
    expect(transport.count('SIP/2.0 482')).toBe(2);

    await firstTx.respond(responseTo(first, 200, 'ok'));
    clock.advance(32_000);
    expect(layer.size).toBe(0);
    // Once the first transaction is gone, the same request is new again.
    expect(layer.receiveRequest(request({ method: 'MESSAGE', branch: 'z9hG4bK-path3' }), source()).kind).toBe('new');
  });

  it('does not flag requests with a To tag, or with another CSeq, Call-ID or From tag', () => {
    const { layer } = setup();
    txOf(layer.receiveRequest(request({ method: 'MESSAGE', branch: 'z9hG4bK-1' }), source()));
    expect(layer.receiveRequest(request({ method: 'MESSAGE', branch: 'z9hG4bK-2', toTag: 'dlg' }), source()).kind).toBe('new');
    expect(layer.receiveRequest(request({ method: 'MESSAGE', branch: 'z9hG4bK-3', cseq: 2 }), source()).kind).toBe('new');
    expect(layer.receiveRequest(request({ method: 'MESSAGE', branch: 'z9hG4bK-4', callId: 'other' }), source()).kind).toBe('new');
    expect(layer.receiveRequest(request({ method: 'MESSAGE', branch: 'z9hG4bK-5', fromTag: 'other' }), source()).kind).toBe('new');
  });

  it('treats a spiral through this server (our client branch below the top Via) as new', () => {
    const { layer } = setup();
    const original = request({ method: 'MESSAGE', branch: 'z9hG4bK-in' });
    txOf(layer.receiveRequest(original, source()));
    // We forward it with our own Via on top...
    const forwarded = request({
      method: 'MESSAGE',
      via: 'SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-ours',
      lowerVias: ['SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bK-in'],
    });
    layer.sendRequest(forwarded, destination(), recorder());
    // ...and it comes back to us through another proxy.
    const spiral = request({
      method: 'MESSAGE',
      via: 'SIP/2.0/UDP 203.0.113.5:5060;branch=z9hG4bK-theirs',
      lowerVias: ['SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-ours', 'SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bK-in'],
    });
    expect(layer.receiveRequest(spiral, source()).kind).toBe('new');
  });
});

describe('RFC 2543 fallback matching (§17.2.3)', () => {
  const via2543 = 'SIP/2.0/UDP 192.0.2.10:5070;branch=old-style-1';

  it('matches a retransmission by Request-URI, tags, Call-ID, CSeq and top Via', () => {
    const { layer } = setup();
    txOf(layer.receiveRequest(request({ method: 'OPTIONS', via: via2543 }), source()));
    expect(layer.receiveRequest(request({ method: 'OPTIONS', via: via2543 }), source()).kind).toBe('retransmission');
    const noBranch = 'SIP/2.0/UDP 192.0.2.10:5070';
    txOf(layer.receiveRequest(request({ method: 'OPTIONS', via: noBranch, cseq: 5 }), source()));
    expect(layer.receiveRequest(request({ method: 'OPTIONS', via: noBranch, cseq: 5 }), source()).kind).toBe('retransmission');
    // A different Request-URI or CSeq is another transaction (and not merged: different CSeq).
    expect(layer.receiveRequest(request({ method: 'OPTIONS', via: noBranch, cseq: 6 }), source()).kind).toBe('new');
    expect(layer.receiveRequest(request({ method: 'OPTIONS', via: noBranch, cseq: 7, uri: 'sip:carol@example.com' }), source()).kind).toBe('new');
  });

  it('matches the ACK by the To tag of the response sent', async () => {
    const { layer } = setup();
    const invite = request({ via: via2543 });
    const tx = txOf(layer.receiveRequest(invite, source()));
    expect(tx.id).toMatch(/^rfc2543-/);
    await tx.respond(responseTo(invite, 486, 'resp-tag'));
    expect(layer.receiveRequest(request({ method: 'ACK', via: via2543, toTag: 'wrong' }), source())).toEqual({ kind: 'ack' });
    expect(tx.state).toBe('completed');
    expect(layer.receiveRequest(request({ method: 'ACK', via: via2543, toTag: 'resp-tag' }), source())).toEqual({ kind: 'ack', transaction: tx });
    expect(tx.state).toBe('confirmed');
  });

  it('matches a CANCEL to the INVITE', () => {
    const { layer } = setup();
    const tx = txOf(layer.receiveRequest(request({ via: via2543 }), source()));
    const outcome = layer.receiveRequest(request({ method: 'CANCEL', via: via2543 }), source());
    expect(outcome.kind).toBe('cancel');
    if (outcome.kind === 'cancel') expect(outcome.transaction).toBe(tx);
  });

  it('releases its ACK entry when it terminates', async () => {
    const { clock, layer } = setup();
    const invite = request({ via: via2543 });
    const tx = txOf(layer.receiveRequest(invite, source()));
    await tx.respond(responseTo(invite, 486, 'r'));
    clock.advance(32_000);
    expect(tx.state).toBe('terminated');
    expect(layer.receiveRequest(request({ method: 'ACK', via: via2543, toTag: 'r' }), source())).toEqual({ kind: 'ack' });
  });
});

describe('malformed requests', () => {
  it('throws SipError for a request without Via', () => {
    const { layer } = setup();
    const req = request();
    req.remove('via');
    expect(() => layer.receiveRequest(req, source())).toThrow(expect.objectContaining({ code: 'MISSING_HEADER' }));
  });
});
