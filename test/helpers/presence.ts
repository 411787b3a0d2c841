/**
 * sip.js presence peers for tests: a watcher (Subscriber) that records every NOTIFY, and a
 * publisher. Waiting is event-driven with bounded timeouts.
 */
import { Publisher, Registerer, RegistererState, Subscriber, SubscriptionState, UserAgent, type Notification } from 'sip.js';
import { startUserAgent } from './sipjs-transport.js';
import type { TestServer } from './test-server.js';
import { waitFor } from './test-server.js';

export interface ReceivedNotify {
  state: string;
  contentType: string | undefined;
  body: string;
}

export const PASSWORDS: Record<string, string> = { alice: 'alice-password', bob: 'bob-password', carol: 'carol-password' };

export function pidf(entity: string, basic: 'open' | 'closed', o: { tupleId?: string; note?: string; activity?: string } = {}): string {
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" entity="${entity}">`,
    `<tuple id="${o.tupleId ?? 't1'}"><status><basic>${basic}</basic></status>${o.note ? `<note>${o.note}</note>` : ''}</tuple>`,
    o.activity ? `<dm:person id="p1"><rpid:activities><rpid:${o.activity}/></rpid:activities></dm:person>` : '',
    '</presence>',
  ].join('');
}

export class Watcher {
  readonly notifies: ReceivedNotify[] = [];
  readonly subscriber: Subscriber;
  readonly ua: UserAgent;
  #waiters: Array<() => void> = [];

  constructor(ua: UserAgent, target: string, event = 'presence', expires = 600, extraHeaders: string[] = [], registry?: Watcher[]) {
    this.ua = ua;
    registry?.push(this);
    this.subscriber = new Subscriber(ua, UserAgent.makeURI(target)!, event, { expires, extraHeaders });
    this.subscriber.delegate = {
      onNotify: (n: Notification) => {
        void n.accept();
        this.notifies.push({
          state: n.request.getHeader('Subscription-State') ?? '',
          contentType: n.request.getHeader('Content-Type'),
          body: n.request.body,
        });
        for (const w of this.#waiters.splice(0)) w();
      },
    };
  }

  subscribe(): Promise<void> {
    return this.subscriber.subscribe();
  }

  get last(): ReceivedNotify | undefined {
    return this.notifies.at(-1);
  }

  /** Wait until a NOTIFY (received at index >= from) satisfies `match`. */
  async waitFor(match: (n: ReceivedNotify) => boolean, what: string, from = 0, timeoutMs = 5000): Promise<ReceivedNotify> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.notifies.slice(from).find(match);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no NOTIFY with ${what} within ${timeoutMs} ms; got ${JSON.stringify(this.notifies.map((n) => [n.state, n.body.slice(0, 400)]))}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  }

  get terminated(): boolean {
    return this.subscriber.state === SubscriptionState.Terminated;
  }

  /**
   * Stop watching before the user agent stops. sip.js 0.21's graceful dispose waits for its
   * dialog's onTerminated, which a `terminated` NOTIFY never fires (it only clears Timer N), so
   * `UserAgent.stop()` would hang on a subscription the notifier already ended; unsubscribe()
   * moves the Subscriber to Terminated first and dispose then has nothing to wait for.
   */
  async close(): Promise<void> {
    if (!this.terminated) await this.subscriber.unsubscribe().catch(() => undefined);
  }
}

export async function userAgent(ts: TestServer, user: string, protocol: 'UDP' | 'TCP' = 'UDP', extra: Parameters<typeof startUserAgent>[0]['extra'] = {}): Promise<UserAgent> {
  const { ua } = await startUserAgent({
    user, domain: 'localhost', password: PASSWORDS[user] ?? `${user}-password`, protocol,
    server: { host: ts.host, port: protocol === 'UDP' ? ts.udpPort : ts.tcpPort },
    extra: { ...extra },
  });
  return ua;
}

export async function register(ua: UserAgent, expires = 600): Promise<Registerer> {
  const reg = new Registerer(ua, { expires });
  await reg.register();
  await waitFor(() => reg.state === RegistererState.Registered, 3000, 'registered');
  return reg;
}

/**
 * Publish and resolve with the final status. sip.js's Publisher reports only its own state, so
 * the final response is read off the transport (after any 401/407 challenge).
 */
export async function publish(publisher: Publisher, body: string): Promise<number> {
  const transport = (publisher as unknown as { userAgent: UserAgent }).userAgent.transport as unknown as { received: string[] };
  const mark = transport.received.length;
  await publisher.publish(body);
  let status = 0;
  await waitFor(() => {
    for (const m of transport.received.slice(mark)) {
      const r = /^SIP\/2\.0 (\d{3})/.exec(m);
      if (r && /\r\nCSeq:\s*\d+ PUBLISH/i.test(m) && !['100', '401', '407'].includes(r[1]!)) status = Number(r[1]);
    }
    return status !== 0;
  }, 5000, 'PUBLISH final response');
  return status;
}

export function newPublisher(ua: UserAgent, target: string, expires = 600): Publisher {
  return new Publisher(ua, UserAgent.makeURI(target)!, 'presence', { expires, contentType: 'application/pidf+xml', unpublishOnClose: false });
}

export function basicOf(body: string): string[] {
  return [...body.matchAll(/<(?:[a-z]+:)?basic>(open|closed)<\/(?:[a-z]+:)?basic>/g)].map((m) => m[1]!);
}
