/**
 * The management API (L5 adapter, like server/): an HTTP/1.1 JSON interface through which users
 * manage their presence rules (issue 3 item 5) and see their offline message queue (issue 4
 * item 6), on node:http with no framework.
 *
 *   GET    /api/users/{user}/presence-rules             200 { owner, rules: [{ watcher, action, content, updatedAt }] }
 *   GET    /api/users/{user}/presence-rules/{watcher}   200 { owner, watcher, action, content, updatedAt } | 404
 *   PUT    /api/users/{user}/presence-rules/{watcher}   body { action, content? } -> 200 the stored rule
 *   DELETE /api/users/{user}/presence-rules/{watcher}   204 | 404
 *   GET    /api/users/{user}/messages                   200 { owner, messages: [{ id, from, to, contentType, bytes,
 *                                                        receivedAt, expiresAt, attempts }] }, oldest first; no bodies
 *
 * After every successful PUT or DELETE, `onRulesChanged(owner)` runs (the composition root wires it
 * to SubscriptionService.rulesChanged: watchers are re-authorized and NOTIFYed) before the answer,
 * so a 2xx means the watchers' state already follows the new rules.
 *
 * Who may: `Authorization: Bearer <adminToken>` manages everyone; otherwise HTTP Digest with the
 * user's own SIP credentials, realm = the user's domain (or the configured fixed realm), and a user
 * manages only their own rules and sees only their own queue (403). Lab mode (no authenticator):
 * nobody is asked.
 *
 * Conformance:
 * - RFC 7616 (HTTP Digest) through src/auth's DigestAuthenticator: MD5 and SHA-256, qop=auth,
 *   nonce expiry and nc replay checks; the digest `uri` must be the request-target, or the
 *   absolute URI of this very request (RFC 7616 §3.4 defines it as the effective request URI;
 *   clients send the request-target, a few the absolute form: both are accepted).
 * - RFC 6750 bearer tokens in the Authorization header only (§2.1); a wrong token gets 401 with
 *   `error="invalid_token"` (§3.1). Compared in constant time.
 * - RFC 9110 status codes: 401 with challenges, 403, 404, 405 with Allow, 413, 400 for malformed
 *   input; responses are JSON (`{ "error": "field: problem" }` for refusals) and never cached.
 * - DEVIATION(RFC 9110 §9.3.2): HEAD is not offered (405); the API is for programs and the CLI.
 * - Not offered: CORS (browsers cannot call it cross-origin), TLS (keep it on loopback or put a
 *   TLS proxy in front: Digest protects the password, not the traffic).
 *
 * One log line per request: debug when answered normally (including the 401 that starts a Digest
 * exchange), info for refusals, error for failures.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { ChallengeOptions, DigestAuthenticator } from '../auth/index.js';
import { parseAuthParams } from '../sip/index.js';
import type { PresenceRule, PresenceRuleStore, StoredMessage } from '../storage/port.js';
import type { Clock } from '../util/clock.js';
import { adminTokenMatches, bearerToken } from './admin-token.js';
import { HttpError } from './http-error.js';
import { resolveOwner, type DomainLookup, type Owner } from './owner.js';
import { parseMessagesRoute, queuedMessageView, type MessagesRoute } from './messages-route.js';
import { checkContentLength, readBody } from './read-body.js';
import { parseRuleBody } from './rule-body.js';
import { parseRulesRoute, type RulesRoute } from './rules-route.js';
import { normalizeWatcher } from './watcher-key.js';

/** The part of DigestAuthenticator the API uses (a DigestAuthenticator fits). */
export type ApiAuthenticator = Pick<DigestAuthenticator, 'challenge' | 'verify'>;

/** Where the API reads a user's queued messages (MessageRelay fits). */
export interface QueuedMessageSource {
  /** The recipient's live queue, oldest first, by AOR key (`alice@example.com`). */
  queued(recipientKey: string): Promise<StoredMessage[]>;
}

export interface ManagementApiOptions {
  /** Where to listen; port 0 = ephemeral (read `port` after start). */
  listen: { address: string; port: number };
  logger: Logger;
  rules: PresenceRuleStore;
  /** The offline message queues; unset = the messages resource does not exist here (404). */
  messages?: QueuedMessageSource;
  /** Re-decide the owner's watchers; awaited before a PUT or DELETE is answered. */
  onRulesChanged(owner: string): Promise<void>;
  users: { exists(user: string, domain: string): Promise<boolean> };
  domains: DomainLookup;
  /** undefined = lab mode: no authentication at all. */
  authenticator: ApiAuthenticator | undefined;
  /** Bearer token that manages every user's rules; unset = none. */
  adminToken?: string;
  clock: Clock;
  /** The Digest realm when config `auth.realm` is set; default the user's domain. */
  realm?: string;
  /** Largest request body, bytes. Default 4096. */
  maxBodyBytes?: number;
}

/** Who is asking. */
type Principal = { kind: 'admin' } | { kind: 'user'; user: string } | { kind: 'lab' };

interface Reply {
  status: number;
  body?: unknown;
  headers?: ReadonlyArray<readonly [string, string]>;
  /** For the log line. */
  reason?: string;
}

const COLLECTION_METHODS = ['GET'] as const;
const RULE_METHODS = ['GET', 'PUT', 'DELETE'] as const;
const ADMIN_REALM = 'herald-admin';
const DEFAULT_MAX_BODY = 4096;
const MAX_LOGGED_TARGET = 200;

function ruleJson(rule: PresenceRule): Record<string, unknown> {
  return { watcher: rule.watcher, action: rule.action, content: rule.content, updatedAt: new Date(rule.updatedAt).toISOString() };
}

function principalName(p: Principal | undefined): string | undefined {
  if (p === undefined) return undefined;
  return p.kind === 'user' ? p.user : p.kind;
}

export class ManagementApi {
  readonly #o: ManagementApiOptions;
  readonly #log: Logger;
  readonly #maxBody: number;
  #server: Server | undefined;

  constructor(options: ManagementApiOptions) {
    if (options.adminToken !== undefined && options.adminToken.length < 16) {
      throw new RangeError('api.adminToken must be at least 16 characters');
    }
    this.#o = options;
    this.#log = options.logger.child({ component: 'api' });
    this.#maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY;
  }

  /** The port listened on (the real one after start, also with port 0). */
  get port(): number {
    const address = this.#server?.address();
    return address !== null && typeof address === 'object' ? (address as AddressInfo).port : this.#o.listen.port;
  }

  async start(): Promise<void> {
    if (this.#server !== undefined) throw new Error('management API already started');
    const server = createServer({ requestTimeout: 10_000, headersTimeout: 5_000, maxHeaderSize: 8192 }, (req, res) => {
      this.#serve(req, res);
    });
    server.keepAliveTimeout = 5_000;
    this.#server = server;
    const { address, port } = this.#o.listen;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, address, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      this.#server = undefined;
      throw err;
    }
    server.on('error', (err) => this.#log.error({ err }, 'management API server error'));
    this.#log.info({ address, port: this.port, auth: this.#o.authenticator ? 'digest' : 'off (lab mode)', adminToken: this.#o.adminToken !== undefined }, 'management API listening');
  }

  async stop(): Promise<void> {
    const server = this.#server;
    if (server === undefined) return;
    this.#server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    this.#log.info('management API stopped');
  }

  #serve(req: IncomingMessage, res: ServerResponse): void {
    const ctx: { principal?: Principal } = {};
    this.#handle(req, ctx).then(
      (reply) => this.#send(req, res, reply, ctx.principal),
      (err: unknown) => this.#send(req, res, this.#errorReply(err, req), ctx.principal),
    );
  }

  async #handle(req: IncomingMessage, ctx: { principal?: Principal }): Promise<Reply> {
    const target = req.url ?? '';
    const route: RulesRoute | MessagesRoute | undefined = parseRulesRoute(target) ?? parseMessagesRoute(target);
    if (route === undefined) {
      throw new HttpError(404, 'no such resource (the API is /api/users/{user}/presence-rules[/{watcher}] and /api/users/{user}/messages)', { reason: 'no-route' });
    }
    if (route.kind === 'messages') this.#queues();
    const method = req.method ?? '';
    const allowed: readonly string[] = route.kind === 'rule' ? RULE_METHODS : COLLECTION_METHODS;
    // RFC 9110 §15.5.6: "The origin server MUST generate an Allow header field in a 405 response
    // containing a list of the target resource's currently supported methods."
    if (!allowed.includes(method)) {
      throw new HttpError(405, `method ${method} not allowed here (${allowed.join(', ')})`, { headers: [['Allow', allowed.join(', ')]], reason: 'method' });
    }
    checkContentLength(req, this.#maxBody);
    // The body is read before authentication: it is small (bounded above), and Digest with
    // qop=auth-int hashes it.
    const body = await readBody(req, this.#maxBody);

    const owner = resolveOwner(route.user, this.#o.domains);
    const principal = await this.#authenticate(req, target, owner, body, route.kind === 'messages' ? 'see only their own messages' : 'manage only their own rules');
    ctx.principal = principal;
    // Asked only now, so an anonymous client cannot tell users from non-users.
    if (!(await this.#o.users.exists(owner.user, owner.domain))) throw new HttpError(404, `user: no such user ${owner.key}`, { reason: 'unknown-user' });

    if (route.kind === 'messages') return this.#queuedMessages(this.#queues(), owner);
    return this.#apply(req.method as (typeof RULE_METHODS)[number], route, owner, body);
  }

  /** The message queues, or 404 when this server was given none. */
  #queues(): QueuedMessageSource {
    const queues = this.#o.messages;
    if (queues === undefined) throw new HttpError(404, 'no such resource (this server keeps no message queues)', { reason: 'no-route' });
    return queues;
  }

  /** GET /api/users/{user}/messages: the queue's metadata, oldest first (arrival order). */
  async #queuedMessages(source: QueuedMessageSource, owner: Owner): Promise<Reply> {
    const queued = await source.queued(owner.key);
    queued.sort((a, b) => a.seq - b.seq);
    return { status: 200, body: { owner: owner.key, messages: queued.map(queuedMessageView) } };
  }

  async #apply(method: (typeof RULE_METHODS)[number], route: RulesRoute, owner: Owner, body: Buffer): Promise<Reply> {
    if (route.kind === 'rules') {
      const rules = await this.#o.rules.list(owner.key);
      rules.sort((a, b) => (a.watcher < b.watcher ? -1 : a.watcher > b.watcher ? 1 : 0));
      return { status: 200, body: { owner: owner.key, rules: rules.map(ruleJson) } };
    }
    const watcher = normalizeWatcher(route.watcher, this.#o.domains);
    switch (method) {
      case 'GET': {
        const rule = await this.#o.rules.get(owner.key, watcher);
        if (rule === undefined) throw new HttpError(404, `watcher: ${owner.key} has no rule for ${watcher}`, { reason: 'no-rule' });
        return { status: 200, body: { owner: owner.key, ...ruleJson(rule) } };
      }
      case 'PUT': {
        if (watcher === owner.key) throw new HttpError(400, `watcher: ${watcher} is the owner, who always sees their own presence`);
        const { action, content } = parseRuleBody(body);
        const rule: PresenceRule = { owner: owner.key, watcher, action, content, updatedAt: this.#o.clock.now() };
        await this.#o.rules.put(rule);
        await this.#rulesChanged(owner.key);
        return { status: 200, body: { owner: owner.key, ...ruleJson(rule) } };
      }
      case 'DELETE': {
        const rule = await this.#o.rules.get(owner.key, watcher);
        if (rule === undefined) throw new HttpError(404, `watcher: ${owner.key} has no rule for ${watcher}`, { reason: 'no-rule' });
        await this.#o.rules.remove(owner.key, watcher);
        await this.#rulesChanged(owner.key);
        return { status: 204 };
      }
      default: {
        const never: never = method;
        throw new HttpError(405, `method ${String(never)} not allowed`);
      }
    }
  }

  async #rulesChanged(owner: string): Promise<void> {
    try {
      await this.#o.onRulesChanged(owner);
    } catch (err) {
      this.#log.error({ err, owner }, 'rules stored, but re-deciding the watchers failed');
      throw new HttpError(500, 'the rule was stored, but updating the watchers failed; retry the request', { reason: 'rules-changed-failed' });
    }
  }

  /** Who asks; `mayOnly` completes the 403 sentence "bob may ... not alice@localhost's". */
  async #authenticate(req: IncomingMessage, target: string, owner: Owner, body: Buffer, mayOnly: string): Promise<Principal> {
    const authenticator = this.#o.authenticator;
    if (authenticator === undefined) return { kind: 'lab' };
    const credentials: Array<{ name: string; value: string }> = [];
    const raw = req.rawHeaders;
    for (let i = 0; i + 1 < raw.length; i += 2) {
      if (raw[i]!.length === 13 && raw[i]!.toLowerCase() === 'authorization') credentials.push({ name: 'authorization', value: raw[i + 1]! });
    }
    const realm = this.#o.realm ?? owner.domain;
    for (const c of credentials) {
      const token = bearerToken(c.value);
      if (token === undefined) continue;
      if (this.#o.adminToken !== undefined && adminTokenMatches(token, this.#o.adminToken)) return { kind: 'admin' };
      // RFC 6750 §3.1 invalid_token: "The resource server SHOULD respond with the HTTP 401
      // (Unauthorized) status code."
      throw new HttpError(401, this.#o.adminToken === undefined ? 'no admin token is configured on this server' : 'the admin token is wrong', {
        headers: [...this.#o.authenticator?.challenge(realm, { proxy: false }) ?? [], ['WWW-Authenticate', `Bearer realm="${ADMIN_REALM}", error="invalid_token"`]],
        reason: 'bad-token',
      });
    }
    const result = await authenticator.verify({ method: req.method ?? '', uriText: this.#digestUri(req, target, credentials), body, headers: credentials }, realm, { proxy: false });
    if (!result.ok) {
      // RFC 9110 §15.5.2: "The server generating a 401 response MUST send a WWW-Authenticate
      // header field containing at least one challenge applicable to the target resource."
      const message = result.reason === 'missing' ? `authentication required (Digest with ${owner.key}'s SIP credentials, or the admin token)` : `not authenticated (${result.reason})`;
      throw new HttpError(401, message, {
        headers: this.#challenges(realm, { stale: result.stale, ...(result.algorithms ? { algorithms: result.algorithms } : {}) }),
        reason: result.reason,
      });
    }
    if (result.user !== owner.user) {
      throw new HttpError(403, `${result.user} may ${mayOnly}, not ${owner.key}'s`, { reason: 'not-owner' });
    }
    return { kind: 'user', user: `${result.user}@${owner.domain}` };
  }

  /** Digest challenges for a 401, plus a Bearer one when an admin token is configured. */
  #challenges(realm: string, options: Omit<ChallengeOptions, 'proxy'>): Array<readonly [string, string]> {
    const out = this.#o.authenticator?.challenge(realm, { ...options, proxy: false }) ?? [];
    if (this.#o.adminToken !== undefined) out.push(['WWW-Authenticate', `Bearer realm="${ADMIN_REALM}"`]);
    return out;
  }

  /**
   * The digest-uri to verify against: the request-target, unless the credentials name this same
   * request in absolute form (`http://host/path`), which RFC 7616 §3.4 also allows.
   */
  #digestUri(req: IncomingMessage, target: string, credentials: ReadonlyArray<{ value: string }>): string {
    for (const c of credentials) {
      const uri = digestUriParam(c.value);
      if (uri === undefined || uri === target || !uri.includes('://')) continue;
      let url: URL;
      try {
        url = new URL(uri);
      } catch {
        continue;
      }
      if (url.pathname + url.search === target && url.host === (req.headers.host ?? '').toLowerCase()) return uri;
    }
    return target;
  }

  #errorReply(err: unknown, req: IncomingMessage): Reply {
    if (err instanceof HttpError) {
      const headers = [...err.headers];
      // An oversized body is not read: close the connection rather than parse the rest as a request.
      if (err.status === 413) headers.push(['Connection', 'close']);
      return { status: err.status, body: { error: err.message }, headers, ...(err.reason !== undefined ? { reason: err.reason } : {}) };
    }
    const code = typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
    this.#log.error({ err, method: req.method, path: truncate(req.url ?? '') }, 'management API request failed');
    if (code === 'STORAGE_FAILURE') return { status: 503, body: { error: 'storage unavailable; retry later' }, headers: [['Retry-After', '5']], reason: 'storage' };
    return { status: 500, body: { error: 'internal error' }, reason: 'internal' };
  }

  #send(req: IncomingMessage, res: ServerResponse, reply: Reply, principal: Principal | undefined): void {
    const fields = { method: req.method, path: truncate(req.url ?? ''), status: reply.status, by: principalName(principal), reason: reply.reason };
    // A normal Digest exchange starts with a 401 for a request without credentials: not a refusal.
    if (reply.status >= 500) this.#log.error(fields, 'management API request');
    else if (reply.status >= 400 && !(reply.status === 401 && reply.reason === 'missing')) this.#log.info(fields, 'management API request refused');
    else this.#log.debug(fields, 'management API request');
    if (res.headersSent || res.destroyed) return;
    try {
      const payload = reply.body === undefined ? undefined : Buffer.from(`${JSON.stringify(reply.body)}\n`, 'utf8');
      res.statusCode = reply.status;
      res.setHeader('Cache-Control', 'no-store');
      res.setHeader('X-Content-Type-Options', 'nosniff');
      const challenges: string[] = [];
      for (const [name, value] of reply.headers ?? []) {
        if (name.toLowerCase() === 'www-authenticate') challenges.push(value);
        else res.setHeader(name, value);
      }
      // One header field per challenge (RFC 8760 §2.3 keeps them apart, in preference order).
      if (challenges.length > 0) res.setHeader('WWW-Authenticate', challenges);
      if (payload !== undefined) {
        res.setHeader('Content-Type', 'application/json; charset=utf-8');
        res.setHeader('Content-Length', payload.length);
        res.end(payload);
      } else {
        res.end();
      }
    } catch (err) {
      this.#log.error({ err }, 'management API could not send a response');
      res.destroy();
    }
  }
}

function truncate(s: string): string {
  return s.length > MAX_LOGGED_TARGET ? `${s.slice(0, MAX_LOGGED_TARGET)}...` : s;
}

/** The `uri` parameter of Digest credentials, or undefined (another scheme, malformed). */
function digestUriParam(value: string): string | undefined {
  try {
    const parsed = parseAuthParams(value);
    return parsed.scheme.toLowerCase() === 'digest' ? parsed.params.get('uri') : undefined;
  } catch {
    return undefined;
  }
}
