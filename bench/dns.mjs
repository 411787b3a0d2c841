#!/usr/bin/env node
/**
 * Locator latency, uncached vs cached (measured, not asserted): `npm run build && node bench/dns.mjs`.
 *
 * A small authoritative-style DNS server runs in this process on 127.0.0.1 (UDP, port 0), built
 * on the codec from dist/dns: for any `dN.bench.test` it answers NAPTR (SIP+D2U ->
 * `_sip._udp.dN.bench.test`), SRV (two targets, priorities 10 and 20), A (one address each) and
 * NODATA + SOA for AAAA. So an uncached `locate(sip:dN.bench.test)` is the full RFC 3263 chain:
 * NAPTR, SRV, then A and AAAA of both targets = 6 queries over loopback. The cached case asks for
 * the same name again and again (all from the cache, RFC 2782 ordering redone each time).
 * The server shares this process's event loop, so uncached figures include its work.
 *
 * Options: --iterations 2000 --warmup 200 --dist dist (another build directory).
 */
import { createSocket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

const iterations = Number(option('iterations', '2000'));
const warmup = Number(option('warmup', '200'));
const dist = resolve(option('dist', 'dist'));
const dns = await import(pathToFileURL(resolve(dist, 'dns/index.js')).href);
const { SystemClock } = await import(pathToFileURL(resolve(dist, 'util/clock.js')).href);
const { parseUri } = await import(pathToFileURL(resolve(dist, 'sip/index.js')).href);
const { pino } = await import('pino');
const { Locator, RR_TYPE, RCODE, decodeMessage, encodeMessage } = dns;

const SOA = { name: 'bench.test', ttl: 300, type: 'SOA', mname: 'ns.bench.test', rname: 'hostmaster.bench.test', serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum: 300 };

function answer(query) {
  const q = query.questions[0];
  const base = { id: query.id, flags: { qr: true, aa: true, rd: true, ra: true }, questions: [q] };
  const m = /^(?:_sip\._udp\.)?(d\d+)\.bench\.test$|^(h[12])\.(d\d+)\.bench\.test$/.exec(q.name);
  if (!m) return encodeMessage({ ...base, rcode: RCODE.NXDOMAIN, authorities: [SOA] });
  const ttl = 300;
  if (q.type === RR_TYPE.NAPTR && m[1] && !q.name.startsWith('_')) {
    return encodeMessage({ ...base, answers: [{ name: q.name, ttl, type: 'NAPTR', order: 10, preference: 10, flags: 's', service: 'SIP+D2U', regexp: '', replacement: `_sip._udp.${q.name}` }] });
  }
  if (q.type === RR_TYPE.SRV && q.name.startsWith('_sip._udp.')) {
    const d = m[1];
    return encodeMessage({
      ...base,
      answers: [
        { name: q.name, ttl, type: 'SRV', priority: 10, weight: 1, port: 5060, target: `h1.${d}.bench.test` },
        { name: q.name, ttl, type: 'SRV', priority: 20, weight: 1, port: 5060, target: `h2.${d}.bench.test` },
      ],
    });
  }
  if (q.type === RR_TYPE.A && m[2]) return encodeMessage({ ...base, answers: [{ name: q.name, ttl, type: 'A', address: m[2] === 'h1' ? '127.0.0.1' : '127.0.0.2' }] });
  return encodeMessage({ ...base, authorities: [SOA] }); // NODATA
}

const server = createSocket('udp4');
server.on('message', (msg, rinfo) => {
  try {
    server.send(answer(decodeMessage(msg)), rinfo.port, rinfo.address);
  } catch { /* drop what does not parse */ }
});
await new Promise((r) => server.bind(0, '127.0.0.1', r));
const { port } = server.address();

const locator = new Locator({
  servers: [{ address: '127.0.0.1', port }],
  clock: new SystemClock(),
  logger: pino({ level: 'silent' }),
  supportedTransports: ['udp', 'tcp'],
});

async function measure(label, uriFor) {
  for (let i = 0; i < warmup; i++) await locator.locate(parseUri(uriFor(-1 - i)));
  const samples = new Float64Array(iterations);
  const started = performance.now();
  for (let i = 0; i < iterations; i++) {
    const t0 = performance.now();
    const targets = await locator.locate(parseUri(uriFor(i)));
    samples[i] = performance.now() - t0;
    if (targets.length !== 2) throw new Error(`${label}: expected 2 targets, got ${targets.length}`);
  }
  const total = performance.now() - started;
  samples.sort();
  const us = (ms) => `${(ms * 1000).toFixed(1)} µs`;
  const at = (p) => samples[Math.min(samples.length - 1, Math.floor(p * samples.length))];
  console.log(`${label.padEnd(9)} n=${iterations}  median ${us(at(0.5))}  p90 ${us(at(0.9))}  p99 ${us(at(0.99))}  max ${us(samples[samples.length - 1])}  (${Math.round(iterations / (total / 1000))} locate/s)`);
}

console.log(`Locator latency on loopback (Node ${process.version}, build ${dist})`);
await measure('uncached', (i) => `sip:alice@d${i + 1_000_000}.bench.test`);
await measure('cached', () => 'sip:alice@d1.bench.test');
await locator.stop();
await new Promise((r) => server.close(r));
