/**
 * SIPp drives the REGISTER scenarios of scenarios/ against a fresh in-process server (auth on),
 * over UDP and over TCP; each run must end with SIPp's exit code 0 (every call succeeded), and
 * the server's location table is checked afterwards where the scenario leaves a mark.
 *
 * SIPp 3.6.1 answers only the FIRST WWW-Authenticate of a challenge, and only with MD5, so these
 * tests pin `auth.algorithms: [MD5, SHA-256]` whatever the default order is. The canary at the
 * end shows what happens with SHA-256 first (RFC 8760 §2.3 lets a server prefer it).
 *
 * Over TCP a binding belongs to its connection: once SIPp exits and the connection closes, the
 * location service removes it, so "the binding is there" is checked over UDP only, and over TCP
 * that it is gone.
 */
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { findOnPath, requireTool } from '../helpers/interop.js';
import { describeSippRun, runSipp, sippArgs, type SippResult } from '../helpers/sipp.js';
import { startTestServer, waitFor, type TestServer } from '../helpers/test-server.js';

const hasSipp = requireTool('sipp');

const ALICE = ['-s', 'alice', '-au', 'alice', '-ap', 'alice-password'];
const AOR = 'alice@localhost';
/** MD5 first: SIPp reads the first challenge only. */
const SIPP_AUTH = { auth: { enabled: true, algorithms: ['MD5', 'SHA-256'] } };

function expectSuccess(r: SippResult): void {
  expect(r.exitCode, describeSippRun(r)).toBe(0);
}

describe.skipIf(!hasSipp)('SIPp REGISTER scenarios', () => {
  for (const transport of ['udp', 'tcp'] as const) {
    describe(`over ${transport.toUpperCase()}`, () => {
      let ts: TestServer;
      beforeEach(async () => {
        ts = await startTestServer({ auth: true, config: SIPP_AUTH });
      });
      afterEach(async () => {
        await ts?.stop();
      });

      const run = (scenario: string, args: readonly string[] = ALICE): Promise<SippResult> =>
        runSipp({
          scenario,
          transport,
          server: { host: ts.host, port: transport === 'udp' ? ts.udpPort : ts.tcpPort },
          args,
          timeoutMs: 20_000,
        });

      /** Over TCP the binding leaves with the connection: wait until it has. */
      const expectGoneAfterClose = async (): Promise<void> => {
        await waitFor(async () => (await ts.server.location!.lookup(AOR)).length === 0, 5000, 'TCP binding removed after SIPp closed its connection');
      };

      it('register-auth.xml: 401, then 200 listing the Contact with expires', async () => {
        const r = await run('register-auth.xml');
        expectSuccess(r);
        expect(r.messages).toMatch(/SIP\/2\.0 401/);
        if (transport === 'udp') {
          const bindings = await ts.server.location!.lookup(AOR);
          expect(bindings).toHaveLength(1);
          expect(bindings[0]!.contact).toMatch(/^sip:alice@127\.0\.0\.1:\d+;transport=udp$/i);
          expect(bindings[0]!.source.transport).toBe('udp');
          expect(bindings[0]!.expiresAt - Date.now()).toBeGreaterThan(3500_000);
        } else {
          await expectGoneAfterClose();
        }
      });

      it('register-refresh.xml: same Call-ID, higher CSeq, 200 with the shorter interval', async () => {
        const r = await run('register-refresh.xml');
        expectSuccess(r);
        if (transport === 'udp') {
          const bindings = await ts.server.location!.lookup(AOR);
          expect(bindings).toHaveLength(1); // refreshed in place, not added
          const left = bindings[0]!.expiresAt - Date.now();
          expect(left).toBeLessThanOrEqual(1800_000);
          expect(left).toBeGreaterThan(1700_000);
          expect(bindings[0]!.cseq).toBeGreaterThanOrEqual(3);
        } else {
          await expectGoneAfterClose();
        }
      });

      it('unregister.xml: Expires: 0 removes the binding, 200 lists no Contact', async () => {
        const r = await run('unregister.xml');
        expectSuccess(r);
        // Its 200 to the removal lists no Contact, checked in the scenario; and none is stored.
        expect(await ts.server.location!.lookup(AOR)).toHaveLength(0);
      });

      it('register-423.xml: Expires: 10 gets 423 with Min-Expires: 60, then 60 is accepted', async () => {
        const r = await run('register-423.xml');
        expectSuccess(r);
        expect(r.messages).toMatch(/SIP\/2\.0 423/);
        if (transport === 'udp') {
          const bindings = await ts.server.location!.lookup(AOR);
          expect(bindings).toHaveLength(1);
          expect(bindings[0]!.expiresAt - Date.now()).toBeLessThanOrEqual(60_000);
        } else {
          await expectGoneAfterClose();
        }
      });

      it('register-wildcard.xml: two Contacts, Contact: * with 3600 is 400, with 0 removes all', async () => {
        const r = await run('register-wildcard.xml');
        expectSuccess(r);
        expect(r.messages).toMatch(/SIP\/2\.0 400/);
        expect(await ts.server.location!.lookup(AOR)).toHaveLength(0);
      });

      it('register-bad-password.xml: a wrong password is challenged again and binds nothing', async () => {
        const r = await run('register-bad-password.xml', ['-s', 'alice', '-au', 'alice']);
        expectSuccess(r);
        expect(r.messages).not.toMatch(/SIP\/2\.0 200/);
        expect(await ts.server.location!.lookup(AOR)).toHaveLength(0);
      });
    });
  }

  describe('bench-register.xml (auth off, users from an injection file)', () => {
    let ts: TestServer;
    let dir: string;
    beforeEach(async () => {
      ts = await startTestServer({ auth: false });
      dir = await mkdtemp(join(tmpdir(), 'herald-sipp-inf-'));
    });
    afterEach(async () => {
      await ts?.stop();
      await rm(dir, { recursive: true, force: true });
    });

    it('registers one distinct user per call', async () => {
      const csv = join(dir, 'users.csv');
      await writeFile(csv, 'SEQUENTIAL\nbench0;\nbench1;\nbench2;\n');
      const r = await runSipp({
        scenario: 'bench-register.xml',
        transport: 'udp',
        server: { host: ts.host, port: ts.udpPort },
        calls: 3,
        args: ['-inf', csv, '-r', '100'],
        timeoutMs: 20_000,
      });
      expectSuccess(r);
      for (const user of ['bench0', 'bench1', 'bench2']) {
        const bindings = await ts.server.location!.lookup(`${user}@localhost`);
        expect(bindings, user).toHaveLength(1);
        expect(bindings[0]!.contact).toMatch(new RegExp(`^sip:${user}@127\\.0\\.0\\.1:\\d+;transport=udp$`, 'i'));
      }
    });
  });

  describe('canary: SIPp and a challenge list with SHA-256 first', () => {
    let ts: TestServer;
    beforeEach(async () => {
      ts = await startTestServer({ auth: true, config: { auth: { enabled: true, algorithms: ['SHA-256', 'MD5'] } } });
    });
    afterEach(async () => {
      await ts?.stop();
    });

    // If this starts passing, SIPp learned SHA-256 or to pick among challenges, and the
    // MD5-first configuration above can go.
    it('SIPp 3.6 cannot answer when the first challenge is SHA-256', async () => {
      const r = await runSipp({
        scenario: 'register-auth.xml',
        transport: 'udp',
        server: { host: ts.host, port: ts.udpPort },
        args: ALICE,
        timeoutMs: 20_000,
      });
      expect(r.exitCode, describeSippRun(r)).not.toBe(0);
      expect(r.errors + r.stdout + r.stderr).toMatch(/MD5/);
      expect(await ts.server.location!.lookup(AOR)).toHaveLength(0);
    });
  });
});

describe('the interop gate and the SIPp command line (helpers)', () => {
  it('requireTool: present -> true; absent -> notice and false; absent with HERALD_REQUIRE_INTEROP=1 -> throws', () => {
    // The running node binary is a tool certainly present: PATH = its directory.
    const path = dirname(process.execPath);
    const tool = basename(process.execPath);
    expect(findOnPath(tool, path)).toBe(join(path, tool));
    expect(requireTool(tool, { PATH: path, HERALD_REQUIRE_INTEROP: '1' })).toBe(true);
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      expect(requireTool('herald-no-such-tool', { PATH: path })).toBe(false);
      expect(warn).toHaveBeenCalledWith(expect.stringContaining('herald-no-such-tool'));
    } finally {
      warn.mockRestore();
    }
    expect(() => requireTool('herald-no-such-tool', { PATH: path, HERALD_REQUIRE_INTEROP: '1' })).toThrow(/HERALD_REQUIRE_INTEROP/);
  });

  it('sippArgs: loopback, one call, traces into the work dir, transport u1/t1, extra args last', () => {
    const args = sippArgs({ scenario: 'register-auth.xml', transport: 'tcp', server: { host: '127.0.0.1', port: 5080 }, args: ['-s', 'alice'] }, '/tmp/w');
    expect(args[0]).toBe('127.0.0.1:5080');
    expect(args[args.indexOf('-sf') + 1]).toMatch(/\/scenarios\/register-auth\.xml$/);
    expect(args[args.indexOf('-t') + 1]).toBe('t1');
    expect(args[args.indexOf('-i') + 1]).toBe('127.0.0.1');
    expect(args).toContain('-bind_local');
    expect(args[args.indexOf('-m') + 1]).toBe('1');
    expect(args[args.indexOf('-error_file') + 1]).toBe('/tmp/w/errors.log');
    expect(args.slice(-2)).toEqual(['-s', 'alice']);
    expect(sippArgs({ scenario: '/abs/x.xml', transport: 'udp', server: { host: '::1', port: 1 } }, '/w')[0]).toBe('[::1]:1');
  });
});
