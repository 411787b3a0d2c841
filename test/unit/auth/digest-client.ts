/**
 * A UAC's side of digest authentication, written straight from RFC 7616 §3.4.1 with node:crypto
 * so the authenticator is checked against an independent computation, not against itself.
 */
import { createHash } from 'node:crypto';
import { parseAuthParams } from '../../../src/sip/headers/auth.js';

export interface ClientRequest {
  method: string;
  uriText: string;
  body?: Buffer;
  headers: Array<{ name: string; value: string }>;
}

export interface AnswerOptions {
  username: string;
  password: string;
  method: string;
  uri: string;
  /** Default '00000001'; null to answer without qop (RFC 2069 style). */
  nc?: string | null;
  cnonce?: string;
  qop?: 'auth' | 'auth-int';
  body?: Buffer;
  /** Override what goes on the wire. */
  realm?: string;
  nonce?: string;
  /** Omit the algorithm parameter (MD5 implied). */
  omitAlgorithm?: boolean;
  /** Upper-case the response hex. */
  upperCase?: boolean;
}

function h(algorithm: string, data: string | Buffer): string {
  const base = algorithm.toUpperCase().startsWith('SHA-256') ? 'sha256' : 'md5';
  return createHash(base).update(data).digest('hex');
}

/** Build the credentials value answering `challengeValue` (one WWW-/Proxy-Authenticate value). */
export function answer(challengeValue: string, o: AnswerOptions): string {
  const c = parseAuthParams(challengeValue).params;
  const realm = o.realm ?? c.get('realm')!;
  const nonce = o.nonce ?? c.get('nonce')!;
  const algorithm = c.get('algorithm') ?? 'MD5';
  const cnonce = o.cnonce ?? 'f2/wE4q74E6zIJEtWaHKaf5wv';
  const nc = o.nc === undefined ? '00000001' : o.nc;
  const qop = nc === null ? undefined : (o.qop ?? 'auth');
  let ha1 = h(algorithm, `${o.username}:${realm}:${o.password}`);
  if (algorithm.toLowerCase().endsWith('-sess')) ha1 = h(algorithm, `${ha1}:${nonce}:${cnonce}`);
  const a2 = qop === 'auth-int' ? `${o.method}:${o.uri}:${h(algorithm, o.body ?? '')}` : `${o.method}:${o.uri}`;
  const ha2 = h(algorithm, a2);
  let response = qop === undefined
    ? h(algorithm, `${ha1}:${nonce}:${ha2}`)
    : h(algorithm, `${ha1}:${nonce}:${nc}:${cnonce}:${qop}:${ha2}`);
  if (o.upperCase) response = response.toUpperCase();
  const parts = [
    `username="${o.username}"`, `realm="${realm}"`, `nonce="${nonce}"`, `uri="${o.uri}"`,
    `response="${response}"`,
  ];
  if (!o.omitAlgorithm) parts.push(`algorithm=${algorithm}`);
  if (qop !== undefined) parts.push(`qop=${qop}`, `nc=${nc}`, `cnonce="${cnonce}"`);
  return `Digest ${parts.join(', ')}`;
}

/** A REGISTER-like request carrying `credentials` under `headerName`. */
export function request(uriText: string, credentials: string[], headerName = 'authorization', method = 'REGISTER', body?: Buffer): ClientRequest {
  const r: ClientRequest = {
    method,
    uriText,
    headers: [
      { name: 'via', value: 'SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1' },
      { name: 'from', value: '<sip:alice@example.com>;tag=1' },
      ...credentials.map((value) => ({ name: headerName, value })),
    ],
  };
  if (body) r.body = body;
  return r;
}
