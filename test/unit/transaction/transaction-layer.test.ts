import { describe, expect, it } from 'vitest';
import type { ServerTransaction } from '../../../src/transaction/index.js';
import { destination, recorder, request, responseTo, setup, source } from './helpers.js';

type WithTransition = { transition(to: string): void };

function newTx(outcome: ReturnType<ReturnType<typeof setup>['layer']['receiveRequest']>): ServerTransaction {
  if (outcome.kind !== 'new') throw new Error(outcome.kind);
  return outcome.transaction;
}

describe('state machine discipline (convention 3)', () => {
  it('throws on an illegal edge, for each machine', () => {
    const { layer } = setup();
    const invClient = layer.sendRequest(request({ branch: 'z9hG4bK-ic' }), destination(), recorder());
    const nonInvClient = layer.sendRequest(request({ method: 'OPTIONS', branch: 'z9hG4bK-nc' }), destination(), recorder());
    const invServer = newTx(layer.receiveRequest(request({ branch: 'z9hG4bK-is' }), source()));
    const nonInvServer = newTx(layer.receiveRequest(request({ method: 'OPTIONS', branch: 'z9hG4bK-ns', fromTag: 'x' }), source()));
    expect(() => (invClient as unknown as WithTransition).transition('confirmed')).toThrow(expect.objectContaining({ code: 'INTERNAL' }));
    expect(() => (invClient as unknown as WithTransition).transition('calling')).toThrow(/illegal transition calling -> calling/);
    expect(() => (nonInvClient as unknown as WithTransition).transition('accepted')).toThrow(/illegal/);
    expect(() => (invServer as unknown as WithTransition).transition('confirmed')).toThrow(/illegal transition proceeding -> confirmed/);
    expect(() => (nonInvServer as unknown as WithTransition).transition('trying')).toThrow(/illegal/);
    // Nothing changed.
    expect([invClient.state, nonInvClient.state, invServer.state, nonInvServer.state]).toEqual(['calling', 'trying', 'proceeding', 'trying']);
  });

  it('terminated is final: no edge leaves it', () => {
    const { layer } = setup();
    const tx = layer.sendRequest(request({ method: 'OPTIONS' }), destination(), recorder());
    tx.terminate();
    expect(() => (tx as unknown as WithTransition).transition('trying')).toThrow(/illegal transition terminated -> trying/);
  });

  it('entering terminated clears every timer and the tables', () => {
    const { clock, layer } = setup();
    const c1 = layer.sendRequest(request({ branch: 'z9hG4bK-1' }), destination(), recorder());
    const c2 = layer.sendRequest(request({ method: 'OPTIONS', branch: 'z9hG4bK-2' }), destination(), recorder());
    const s1 = newTx(layer.receiveRequest(request({ branch: 'z9hG4bK-3' }), source()));
    const s2 = newTx(layer.receiveRequest(request({ method: 'OPTIONS', branch: 'z9hG4bK-4', fromTag: 'y' }), source()));
    expect(clock.pendingCount).toBeGreaterThan(0);
    expect(layer.size).toBe(4);
    for (const tx of [c1, c2, s1, s2]) tx.terminate();
    expect(clock.pendingCount).toBe(0);
    expect(layer.size).toBe(0);
    expect([c1.state, c2.state, s1.state, s2.state]).toEqual(['terminated', 'terminated', 'terminated', 'terminated']);
  });

  it('terminated transactions ignore late inputs', async () => {
    const { transport, layer } = setup();
    const req = request({ method: 'OPTIONS' });
    const tx = newTx(layer.receiveRequest(req, source()));
    const reasons: string[] = [];
    tx.onTerminated((r) => reasons.push(r));
    tx.terminate();
    await tx.respond(responseTo(req, 200, 'x'));
    expect(transport.sent).toHaveLength(0);
    expect(reasons).toEqual(['aborted']);
    // A late onTerminated registration is called at once.
    tx.onTerminated((r) => reasons.push(`late:${r}`));
    expect(reasons).toEqual(['aborted', 'late:aborted']);
  });
});

describe('drain', () => {
  it('resolves at once with no transactions', async () => {
    const { layer } = setup();
    await expect(layer.drain(1_000)).resolves.toBeUndefined();
  });

  it('waits for a final response, then ends completed transactions at once (no Timer J wait)', async () => {
    const { clock, layer } = setup();
    const req = request({ method: 'OPTIONS' });
    const tx = newTx(layer.receiveRequest(req, source()));
    let done = false;
    const drained = layer.drain(60_000).then(() => {
      done = true;
    });
    // Still owing a final response: drain keeps waiting.
    clock.advance(1_000);
    await Promise.resolve();
    expect(done).toBe(false);
    expect(tx.state).toBe('trying');
    await tx.respond(responseTo(req, 200, 'x'));
    // Completed (Timer J would be 32 s on UDP): drain ends it on its next look.
    clock.advance(20);
    await drained;
    expect(done).toBe(true);
    expect(tx.state).toBe('terminated');
    expect(layer.size).toBe(0);
    expect(clock.pendingCount).toBe(0);
  });

  it('terminates the rest after the grace period; waiting clients get onTimeout', async () => {
    const { clock, layer } = setup();
    const ev = recorder();
    const client = layer.sendRequest(request({ branch: 'z9hG4bK-c' }), destination(), ev);
    const server = newTx(layer.receiveRequest(request({ branch: 'z9hG4bK-s' }), source()));
    const drained = layer.drain(1_000);
    clock.advance(1_000);
    await drained;
    expect(client.state).toBe('terminated');
    expect(server.state).toBe('terminated');
    expect(ev.timeouts).toBe(1);
    expect(layer.size).toBe(0);
    expect(clock.pendingCount).toBe(0);
  });
});

describe('layer bookkeeping', () => {
  it('counts live client and server transactions', async () => {
    const { clock, layer } = setup();
    const req = request({ method: 'OPTIONS' });
    const tx = newTx(layer.receiveRequest(req, source()));
    layer.sendRequest(request({ method: 'OPTIONS', branch: 'z9hG4bK-out' }), destination('tcp'), recorder());
    expect(layer.size).toBe(2);
    await tx.respond(responseTo(req, 200, 'x'));
    clock.advance(32_000); // J ends the server; F ends the client
    expect(layer.size).toBe(0);
  });
});
