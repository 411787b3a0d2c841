/** Ports for the benchmarks' SIPp processes. */
import dgram from 'node:dgram';

/** A free UDP port on loopback (bound on port 0, then released), for SIPp's -p. */
export function freeUdpPort() {
  return new Promise((done, reject) => {
    const s = dgram.createSocket('udp4');
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => done(port));
    });
  });
}
