/**
 * Subscriptions live in the store (issue: Presence, item 1): a refresh that arrives after the
 * server restarted still matches its dialog, and the NOTIFY CSeq keeps increasing; an in-dialog
 * SUBSCRIBE for a dialog nobody knows gets 481.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import { RawUdpClient, headerOf, request, statusOf } from '../helpers/raw-client.js';

let dataDir: string;
let client: RawUdpClient;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'herald-restart-'));
  client = await RawUdpClient.open();
});
afterAll(async () => {
  client.close();
  await rm(dataDir, { recursive: true, force: true });
});

const isNotify = (m: string): boolean => m.startsWith('NOTIFY ');

/** Answer a NOTIFY with 200 (copying the headers a response needs). */
async function answer(notify: string, port: number): Promise<void> {
  const lines = notify.split('\r\n');
  const pick = (name: string) => lines.filter((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  const res = ['SIP/2.0 200 OK', ...pick('Via'), ...pick('From'), ...pick('To'), ...pick('Call-ID'), ...pick('CSeq'), 'Content-Length: 0', '', ''].join('\r\n');
  await client.send(res, port);
}

describe('subscriptions across a restart', () => {
  it('a refresh after a restart matches the stored dialog', async () => {
    let ts: TestServer = await startTestServer({ auth: false, dataDir });
    const callId = `restart-${Date.now()}@test`;
    const contact = `Contact: <sip:bob@127.0.0.1:${client.port}>`;
    await client.send(request('SUBSCRIBE', 'sip:alice@localhost', {
      from: 'sip:bob@localhost', to: 'sip:alice@localhost', callId, cseq: 1,
      via: `Via: SIP/2.0/UDP 127.0.0.1:${client.port};branch=z9hG4bK-r1;rport`,
      headers: ['Event: presence', 'Expires: 600', contact],
    }), ts.udpPort);
    const ok = await client.next((m) => statusOf(m) === 200);
    const toTag = /;tag=([^;\r\n>]+)/.exec(headerOf(ok, 'To')!)![1]!;
    const fromTag = /;tag=([^;\r\n>]+)/.exec(headerOf(ok, 'From')!)![1]!;
    const first = await client.next(isNotify);
    await answer(first, ts.udpPort);
    const firstCseq = Number(/^CSeq:\s*(\d+)/im.exec(first)![1]);
    await ts.stop();

    ts = await startTestServer({ auth: false, dataDir });
    try {
      await client.send([
        `SUBSCRIBE sip:alice@127.0.0.1:${ts.udpPort} SIP/2.0`,
        `Via: SIP/2.0/UDP 127.0.0.1:${client.port};branch=z9hG4bK-r2;rport`,
        `From: <sip:bob@localhost>;tag=${fromTag}`,
        `To: <sip:alice@localhost>;tag=${toTag}`,
        `Call-ID: ${callId}`,
        'CSeq: 2 SUBSCRIBE',
        'Max-Forwards: 70',
        'Event: presence',
        'Expires: 600',
        contact,
        'Content-Length: 0',
        '', '',
      ].join('\r\n'), ts.udpPort);
      expect(statusOf(await client.next((m) => /^CSeq: 2 SUBSCRIBE/m.test(m)))).toBe(200);
      const again = await client.next(isNotify);
      await answer(again, ts.udpPort);
      expect(Number(/^CSeq:\s*(\d+)/im.exec(again)![1])).toBeGreaterThan(firstCseq);
      expect(headerOf(again, 'Subscription-State')).toMatch(/^active;expires=/);

      // A dialog nobody knows: 481, so the client starts over.
      await client.send([
        `SUBSCRIBE sip:alice@127.0.0.1:${ts.udpPort} SIP/2.0`,
        `Via: SIP/2.0/UDP 127.0.0.1:${client.port};branch=z9hG4bK-r3;rport`,
        `From: <sip:bob@localhost>;tag=${fromTag}`,
        'To: <sip:alice@localhost>;tag=unknown-dialog',
        `Call-ID: ${callId}`,
        'CSeq: 3 SUBSCRIBE',
        'Max-Forwards: 70',
        'Event: presence',
        contact,
        'Content-Length: 0',
        '', '',
      ].join('\r\n'), ts.udpPort);
      expect(statusOf(await client.next((m) => /^CSeq: 3 SUBSCRIBE/m.test(m)))).toBe(481);
    } finally {
      await ts.stop();
    }
  });
});
