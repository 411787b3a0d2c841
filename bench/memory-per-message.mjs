/**
 * Memory a relayed MESSAGE keeps alive after it was answered: N MESSAGEs (default 20,000) from a
 * raw UDP sender through an in-process server (lab mode) to one registered raw UDP device that
 * answers 200, then the live heap per message after a full GC — once right away (client
 * transactions still in Timer K, 5 s) and once 7 s later (only server transactions in Timer J,
 * 32 s, are left). Run after `npm run build`:  node --expose-gc bench/memory-per-message.mjs [N]
 * The sender bursts 200 every 40 ms, so some MESSAGEs are lost to UDP drops: `answered` says how
 * many went through; the per-message figures divide by N.
 */
import dgram from 'node:dgram';
import { pino } from 'pino';
import { validateConfig } from '../dist/config/index.js';
import { HeraldServer } from '../dist/server/index.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
const N = Number(process.argv[2] ?? 20000);
const config = validateConfig({ listen: [{ transport: 'udp', address: '127.0.0.1', port: 0 }], domains: ['localhost'], dataDir: mkdtempSync(join(tmpdir(), 'herald-mem-')), auth: { enabled: false }, users: [], log: { level: 'silent', pretty: false }, api: { enabled: false }, messaging: { senderRatePerSecond: 0 } });
const server = new HeraldServer({ config, logger: pino({ level: 'silent' }) });
await server.start();
const port = server.listeningPoints[0].port;
const bob = dgram.createSocket('udp4'); await new Promise((r) => bob.bind(0, '127.0.0.1', r));
const alice = dgram.createSocket('udp4'); await new Promise((r) => alice.bind(0, '127.0.0.1', r));
let answered = 0;
bob.on('message', (m) => {
  const t = m.toString('latin1');
  if (!t.startsWith('MESSAGE')) return;
  const head = t.slice(0, t.indexOf('\r\n\r\n')).split('\r\n');
  const keep = head.filter((l) => /^(via|from|to|call-id|cseq):/i.test(l)).map((l) => /^to:/i.test(l) ? l + ';tag=b' : l);
  bob.send(Buffer.from(['SIP/2.0 200 OK', ...keep, 'Content-Length: 0', '', ''].join('\r\n')), port, '127.0.0.1');
});
alice.on('message', (m) => { if (m.toString('latin1').startsWith('SIP/2.0 200')) answered++; });
const reg = ['REGISTER sip:localhost SIP/2.0', `Via: SIP/2.0/UDP 127.0.0.1:${bob.address().port};branch=z9hG4bKreg;rport`, 'From: <sip:bob@localhost>;tag=r', 'To: <sip:bob@localhost>', 'Call-ID: reg1', 'CSeq: 1 REGISTER', `Contact: <sip:bob@127.0.0.1:${bob.address().port}>`, 'Expires: 3600', 'Content-Length: 0', '', ''].join('\r\n');
bob.send(Buffer.from(reg), port, '127.0.0.1');
await new Promise((r) => setTimeout(r, 300));
global.gc(); const before = process.memoryUsage();
const body = 'hello there, this is a message of about sixty bytes in size.';
for (let i = 0; i < N; i++) {
  const msg = ['MESSAGE sip:bob@localhost SIP/2.0', `Via: SIP/2.0/UDP 127.0.0.1:${alice.address().port};branch=z9hG4bK${i}x;rport`, `From: <sip:alice@localhost>;tag=a${i}`, 'To: <sip:bob@localhost>', `Call-ID: c${i}@x`, 'CSeq: 1 MESSAGE', 'Max-Forwards: 70', 'Content-Type: text/plain', `Content-Length: ${body.length}`, '', body].join('\r\n');
  alice.send(Buffer.from(msg), port, '127.0.0.1');
  if (i % 200 === 199) { await new Promise((r) => setTimeout(r, 40)); }
}
const deadline = Date.now() + 60000;
let last = -1;
while (answered !== last && Date.now() < deadline) { last = answered; await new Promise((r) => setTimeout(r, 1000)); }
global.gc(); global.gc(); const mid = process.memoryUsage();
await new Promise((r) => setTimeout(r, 7000)); // client transactions' Timer K (5 s) has run out
global.gc(); global.gc(); const after = process.memoryUsage();
console.log(JSON.stringify({ withClientTx: Math.round((mid.heapUsed - before.heapUsed) / N) }));
console.log(JSON.stringify({ N, answered, heapPerTxBytes: Math.round((after.heapUsed - before.heapUsed) / N), externalPerTx: Math.round((after.external + after.arrayBuffers - before.external - before.arrayBuffers) / N), rssMiB: Math.round(after.rss / 1048576) }));
process.exit(0);
