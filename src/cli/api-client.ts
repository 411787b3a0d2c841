/**
 * One request to a running server's management API (src/api) for the client commands, on the
 * global fetch: the admin token as `Authorization: Bearer` (RFC 6750 §2.1), or the user's SIP
 * password answering the server's Digest challenge (RFC 7616 §3.4: the first request goes without
 * credentials, the 401 it draws carries the challenges, and the request is sent once more with
 * the answer). A refusal or an unreachable server becomes ApiCommandFailure with a message fit for
 * the terminal (exit status 1).
 */
import type { ApiCredentials } from './api-args.js';
import { answerDigest } from './digest-client.js';
import { parseChallenges } from './www-authenticate.js';

/** What a client command needs from its surroundings (process streams and env in main.ts). */
export interface ApiCommandIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  /** Default the global fetch. */
  readonly fetch?: typeof fetch;
  /** Per request; default 10 000 ms. */
  readonly timeoutMs?: number;
}

/** The server refused, answered nonsense, or could not be reached (exit status 1). */
export class ApiCommandFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ApiCommandFailure';
  }
}

export interface ApiCall {
  /** The API base URL (its path, if any, is a reverse-proxy prefix). */
  readonly api: URL;
  /** The path under the API base, segments already percent-encoded: `/api/users/alice/messages`. */
  readonly path: string;
  readonly method: 'GET' | 'PUT' | 'DELETE';
  /** A JSON body, sent as application/json. */
  readonly body?: string;
  /** The user named on the command line (`alice`, `alice@example.com`, `sip:...`): the Digest username. */
  readonly user: string;
  readonly credentials: ApiCredentials;
  /** How the command's token option is spelled, for messages (`--token`, `--admin-token`). */
  readonly tokenOption: string;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A JSON value as text for the terminal: strings as they are, others as JSON. */
export function str(value: unknown): string {
  return typeof value === 'string' ? value : value === undefined ? '' : JSON.stringify(value);
}

/** The request URL: `path` under the API URL's own path. */
export function apiUrl(api: URL, path: string): URL {
  let prefix = api.pathname;
  while (prefix.endsWith('/')) prefix = prefix.slice(0, -1);
  const url = new URL(api.href);
  url.pathname = `${prefix}${path}`;
  return url;
}

/** The Digest username for the user named on the command line: its user part. */
export function digestUsername(user: string): string {
  const at = user.lastIndexOf('@');
  const name = at === -1 ? user : user.slice(0, at);
  return name.startsWith('sips:') ? name.slice(5) : name.startsWith('sip:') ? name.slice(4) : name;
}

async function readJson(res: Response): Promise<unknown> {
  const text = await res.text();
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text.length > 200 ? `${text.slice(0, 200)}...` : text;
  }
}

function errorText(status: number, statusText: string, body: unknown): string {
  const message = isRecord(body) && typeof body['error'] === 'string' ? body['error'] : typeof body === 'string' && body !== '' ? body : statusText;
  return `${status} ${message}`;
}

function causeText(err: unknown): string {
  if (err instanceof Error) {
    if (err.name === 'TimeoutError' || err.name === 'AbortError') return 'no answer in time';
    const cause: unknown = err.cause;
    if (cause instanceof Error) return 'code' in cause ? `${String(cause.code)}: ${cause.message}` : cause.message;
    return err.message;
  }
  return String(err);
}

/**
 * Sends the call and resolves with the status and JSON body of a 2xx answer; rejects with
 * ApiCommandFailure otherwise.
 */
export async function callApi(call: ApiCall, io: Pick<ApiCommandIo, 'fetch' | 'timeoutMs'>): Promise<{ status: number; json: unknown }> {
  const doFetch = io.fetch ?? fetch;
  const url = apiUrl(call.api, call.path);
  const send = async (authorization: string | undefined): Promise<Response> => {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (call.body !== undefined) headers['content-type'] = 'application/json';
    if (authorization !== undefined) headers['authorization'] = authorization;
    try {
      return await doFetch(url, { method: call.method, headers, ...(call.body !== undefined ? { body: call.body } : {}), redirect: 'error', signal: AbortSignal.timeout(io.timeoutMs ?? 10_000) });
    } catch (err) {
      throw new ApiCommandFailure(`cannot reach the management API at ${call.api.origin} (${causeText(err)}); is the server running with its API enabled? (--api URL)`);
    }
  };

  const creds = call.credentials;
  let res = await send(creds.kind === 'token' ? `Bearer ${creds.token}` : undefined);
  if (res.status === 401) {
    if (creds.kind === 'password') {
      await res.arrayBuffer();
      const challenges = parseChallenges(res.headers.get('www-authenticate') ?? '');
      const authorization = answerDigest({ challenges, method: call.method, uri: url.pathname + url.search, username: digestUsername(call.user), password: creds.password });
      if (authorization === undefined) throw new ApiCommandFailure('the server asks for credentials but offers no Digest challenge this command can answer (MD5 or SHA-256)');
      res = await send(authorization);
      if (res.status === 401) throw new ApiCommandFailure(`401 ${call.user}'s password was not accepted (${errorText(res.status, res.statusText, await readJson(res))})`);
    } else if (creds.kind === 'token') {
      throw new ApiCommandFailure(errorText(res.status, res.statusText, await readJson(res)));
    } else {
      await res.arrayBuffer();
      throw new ApiCommandFailure(`401 the server asks for credentials: give ${call.tokenOption} (or env HERALD_ADMIN_TOKEN), or --user-password (or env HERALD_USER_PASSWORD) with ${call.user}'s SIP password`);
    }
  }
  const json = await readJson(res);
  if (!res.ok) throw new ApiCommandFailure(errorText(res.status, res.statusText, json));
  return { status: res.status, json };
}
