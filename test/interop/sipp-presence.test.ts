/**
 * SIPp drives the presence scenarios of scenarios/ (presence-*.xml, winfo-*.xml) against a fresh
 * in-process server in lab mode (auth off: every user of localhost exists and every watcher may
 * watch), over UDP and over TCP. Each run must end with SIPp's exit code 0: every check in the
 * scenario held and every NOTIFY it expects arrived and was answered (no -aa). The server's
 * subscription and publication stores are checked afterwards: none of these scenarios may leave
 * state behind.
 *
 * Over TCP a subscription also ends when its connection closes (the server cannot NOTIFY it any
 * more), so "no subscription left" proves the unsubscription over UDP only; over TCP it proves the
 * cleanup.
 *
 * SIPp keeps going after a failed <ereg check_it> and reports every failure in its error log
 * (`Failed regexp match: ... with regexp '...'`), so a run can be judged by the exact list of
 * checks that failed (see failedChecks).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { requireTool } from '../helpers/interop.js';
import { SCENARIO_DIR, describeSippRun, runSipp, type SippResult } from '../helpers/sipp.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

const hasSipp = requireTool('sipp');

const ALICE = 'alice@localhost';

function expectSuccess(r: SippResult): void {
  expect(r.exitCode, describeSippRun(r)).toBe(0);
}

/** The regular expressions of the scenario checks that failed, in order, from SIPp's error log. */
function failedChecks(r: SippResult): string[] {
  const out: string[] = [];
  for (const m of r.errors.matchAll(/(?:Failed regexp match|Regexp matched but should not): looking in '[\s\S]*?', with regexp '([^'\n]*)'/g)) {
    out.push(m[1]!);
  }
  for (const m of r.errors.matchAll(/Failed regexp match: header (.+?) not found/g)) out.push(`header ${m[1]!}`);
  return out;
}

describe.skipIf(!hasSipp)('SIPp presence scenarios (lab mode)', () => {
  for (const transport of ['udp', 'tcp'] as const) {
    describe(`over ${transport.toUpperCase()}`, () => {
      let ts: TestServer;
      beforeEach(async () => {
        ts = await startTestServer({ auth: false });
      });
      afterEach(async () => {
        await ts?.stop();
      });

      const run = (scenario: string, args: readonly string[] = []): Promise<SippResult> =>
        runSipp({
          scenario,
          transport,
          server: { host: ts.host, port: transport === 'udp' ? ts.udpPort : ts.tcpPort },
          args,
          timeoutMs: 20_000,
        });

      const subscriptionsLeft = (): Promise<number> => ts.server.storage!.subscriptions.count(Date.now());
      const publicationsLeft = async (): Promise<number> =>
        (await ts.server.storage!.publications.list('presence', ALICE, Date.now())).length;

      it('presence-subscribe.xml: 200 + NOTIFY active/pidf closed, refresh 200 + NOTIFY, unsubscribe 200 + NOTIFY terminated', async () => {
        const r = await run('presence-subscribe.xml', ['-s', 'bob']);
        expectSuccess(r);
        expect(r.messages).toMatch(/Subscription-State: terminated/);
        expect(await subscriptionsLeft()).toBe(0);
      });

      it('presence-publish.xml: 200 + SIP-ETag, refresh gets a new ETag, modify, remove, then the removed ETag is 412', async () => {
        const r = await run('presence-publish.xml', ['-s', 'alice']);
        expectSuccess(r);
        const etags = [...r.messages.matchAll(/^SIP-ETag: *(\S+)/gm)].map((m) => m[1]);
        expect(etags).toHaveLength(4); // initial, refresh, modify, remove: every 200 has one
        expect(new Set(etags.slice(0, 3)).size).toBe(3); // a new entity-tag for each publication
        expect(r.messages).toMatch(/SIP\/2\.0 412/);
        expect(await publicationsLeft()).toBe(0);
      });

      it('presence-publish-notify.xml: a watcher sees closed, then open with the note after PUBLISH, closed after removal', async () => {
        const r = await run('presence-publish-notify.xml');
        expectSuccess(r);
        expect(await publicationsLeft()).toBe(0);
        expect(await subscriptionsLeft()).toBe(0);
      });

      it('presence-errors.xml: 412, 423 (SUBSCRIBE and PUBLISH), 489 (SUBSCRIBE and PUBLISH), 415, 400, 406, no state left', async () => {
        const r = await run('presence-errors.xml', ['-s', 'alice']);
        expectSuccess(r);
        const statuses = [...r.messages.matchAll(/^SIP\/2\.0 (\d{3})/gm)].map((m) => Number(m[1]));
        expect(statuses).toEqual([412, 423, 423, 489, 489, 415, 400, 406]);
        expect(await publicationsLeft()).toBe(0);
        expect(await subscriptionsLeft()).toBe(0);
      });

      it('presence-fetch.xml: SUBSCRIBE Expires: 0 gets 200 and one NOTIFY terminated;reason=timeout with the current state', async () => {
        const r = await run('presence-fetch.xml');
        expectSuccess(r);
        expect([...r.messages.matchAll(/^NOTIFY /gm)]).toHaveLength(2);
        expect(await subscriptionsLeft()).toBe(0);
        expect(await publicationsLeft()).toBe(0);
      });

      it('winfo-subscribe.xml: full state, partial on a new watcher and on its unsubscription, then terminated', async () => {
        const r = await run('winfo-subscribe.xml');
        // The final `terminated` NOTIFY carries the next version ("3"; RFC 3858 §4.1).
        expectSuccess(r);
        expect(await subscriptionsLeft()).toBe(0);
      });
    });
  }

  describe('canary: the scenario checks bite', () => {
    let ts: TestServer;
    let dir: string;
    beforeEach(async () => {
      ts = await startTestServer({ auth: false });
      dir = await mkdtemp(join(tmpdir(), 'herald-sipp-canary-'));
    });
    afterEach(async () => {
      await ts?.stop();
      await rm(dir, { recursive: true, force: true });
    });

    it('presence-subscribe.xml expecting <basic>open</basic> for an unpublished presentity fails on exactly that check', async () => {
      const original = await readFile(join(SCENARIO_DIR, 'presence-subscribe.xml'), 'utf8');
      const closed = '&lt;basic&gt;closed&lt;/basic&gt;';
      expect(original).toContain(closed);
      const mutated = join(dir, 'presence-subscribe-expects-open.xml');
      await writeFile(mutated, original.replaceAll(closed, '&lt;basic&gt;open&lt;/basic&gt;'));
      const r = await runSipp({ scenario: mutated, transport: 'udp', server: { host: ts.host, port: ts.udpPort }, args: ['-s', 'bob'], timeoutMs: 20_000 });
      expect(r.exitCode, describeSippRun(r)).toBe(1);
      expect(failedChecks(r)).toEqual(['<basic>open</basic>', '<basic>open</basic>', '<basic>open</basic>']);
    });
  });
});
