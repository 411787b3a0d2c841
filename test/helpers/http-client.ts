/**
 * A plain HTTP client for tests of the management API (node:http, no agent, 5 s timeout): the
 * status, headers, every WWW-Authenticate challenge, the text and its JSON when it is JSON.
 */
import { request as httpRequest, type OutgoingHttpHeaders } from 'node:http';

export interface HttpReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Every WWW-Authenticate field, in order. */
  challenges: string[];
  text: string;
  json: unknown;
}

export function http(port: number, method: string, path: string, options: { headers?: OutgoingHttpHeaders; body?: string | Buffer; chunks?: Buffer[] } = {}): Promise<HttpReply> {
  return new Promise<HttpReply>((resolve, reject) => {
    const headers: OutgoingHttpHeaders = { ...(options.headers ?? {}) };
    if (options.body !== undefined) headers['content-length'] = Buffer.byteLength(options.body);
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers, agent: false, timeout: 5000 }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => {
        const text = Buffer.concat(parts).toString('utf8');
        const challenges: string[] = [];
        for (let i = 0; i < res.rawHeaders.length; i += 2) if (res.rawHeaders[i]!.toLowerCase() === 'www-authenticate') challenges.push(res.rawHeaders[i + 1]!);
        let json: unknown;
        try {
          json = text === '' ? undefined : JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, challenges, text, json });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    if (options.chunks !== undefined) {
      for (const c of options.chunks) req.write(c);
      req.end();
    } else req.end(options.body);
  });
}
