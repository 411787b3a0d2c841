/**
 * Free ports on loopback for tests that must name a port before the server behind it starts
 * (DNS records, configs of two servers that point at each other).
 */
import dgram from 'node:dgram';
import net from 'node:net';

const HOST = '127.0.0.1';

/**
 * A port free on 127.0.0.1 for both UDP and TCP at the time of the call (bound on port 0, then
 * released): Kamailio and DNS records can then use one number for both transports.
 */
export async function freeSipPort(attempts = 20): Promise<number> {
  for (let i = 0; i < attempts; i++) {
    const port = await freeTcpPort();
    if (await udpPortIsFree(port)) return port;
  }
  throw new Error(`no port free for both UDP and TCP on ${HOST} after ${attempts} attempts`);
}

export function freeTcpPort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolvePromise(port));
    });
  });
}

export function udpPortIsFree(port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const socket = dgram.createSocket('udp4');
    socket.once('error', () => {
      socket.close();
      resolvePromise(false);
    });
    socket.bind(port, HOST, () => socket.close(() => resolvePromise(true)));
  });
}

export function tcpPortIsFree(port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const server = net.createServer();
    server.once('error', () => resolvePromise(false));
    server.listen(port, HOST, () => server.close(() => resolvePromise(true)));
  });
}

