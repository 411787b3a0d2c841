import { describe, expect, it } from 'vitest';
import { parseWatcherInfo } from '../../../../src/documents/index.js';
import {
  buildWatcherInfo, buildWatcherInfoChange, watcherEventOf, watcherId, watcherInfoOf, watcherOf, watcherUri,
  type WatchedSubscription,
} from '../../../../src/events/packages/presence-winfo/watcherinfo-state.js';
import type { SubscriptionRecord } from '../../../../src/storage/port.js';

const T0 = 1_700_000_000_000;

function subscription(over: Partial<SubscriptionRecord>): SubscriptionRecord {
  return {
    id: 'call-1;tag-l;tag-r', event: 'presence', resource: 'alice@localhost', watcher: 'bob@localhost',
    state: 'active', contentType: 'application/pidf+xml', callId: 'call-1', localTag: 'tag-l', remoteTag: 'tag-r',
    localUri: '<sip:alice@localhost>', remoteUri: '"Bob" <sip:bob@localhost>', remoteTarget: 'sip:bob@127.0.0.1:5070',
    routeSet: [], localCseq: 1, remoteCseq: 1, source: { transport: 'udp', address: '127.0.0.1', port: 5070 },
    expiresAt: T0 + 600_000, createdAt: T0, updatedAt: T0, version: 0,
    ...over,
  };
}

const RESOURCE = 'sip:alice@localhost';

describe('watcher identity', () => {
  it('watcher id: stable per subscription, distinct across subscriptions, an XML-friendly token', () => {
    expect(watcherId('a;b;c')).toBe(watcherId('a;b;c'));
    expect(watcherId('a;b;c')).not.toBe(watcherId('a;b;d'));
    expect(watcherId('a;b;c')).toMatch(/^w[0-9a-f]{16}$/);
  });

  it.each([
    ['bob@localhost', 'sip:bob@localhost'],
    ['sip:bob@localhost', 'sip:bob@localhost'],
    ['sips:bob@example.com', 'sips:bob@example.com'],
    ['tel:+123', 'tel:+123'],
  ])('watcher uri of %s is %s', (watcher, uri) => {
    expect(watcherUri(watcher)).toBe(uri);
  });

  it.each<[Partial<SubscriptionRecord>, string]>([
    [{ state: 'pending' }, 'subscribe'],
    [{ state: 'active' }, 'subscribe'],
    [{ state: 'terminated', reason: 'rejected' }, 'rejected'],
    [{ state: 'terminated', reason: 'deactivated' }, 'deactivated'],
    [{ state: 'terminated', reason: 'giveup' }, 'giveup'],
    [{ state: 'terminated', reason: 'noresource' }, 'noresource'],
    [{ state: 'terminated', reason: 'probation' }, 'probation'],
    [{ state: 'terminated', reason: 'timeout' }, 'timeout'],
    [{ state: 'terminated', reason: 'Rejected' }, 'rejected'],
    [{ state: 'terminated' }, 'timeout'],
    [{ state: 'terminated', reason: 'invariant' }, 'timeout'],
  ])('default event for %j is %s', (over, event) => {
    expect(watcherEventOf(subscription(over))).toBe(event);
  });

  it('watcherOf: uri, display name, status, durations', () => {
    const s = subscription({ watcherDisplayName: 'Bob', state: 'pending' });
    expect(watcherOf(s)).toEqual({ id: watcherId(s.id), status: 'pending', event: 'subscribe', uri: 'sip:bob@localhost', displayName: 'Bob' });
    expect(watcherOf(s, 'subscribe', T0 + 12_500)).toMatchObject({ durationSubscribed: 12, expiration: 587 });
    expect(watcherOf(subscription({ state: 'terminated', reason: 'timeout' }), undefined, T0 + 700_000))
      .not.toHaveProperty('expiration');
    expect(watcherOf(subscription({ watcherDisplayName: '' }))).not.toHaveProperty('displayName');
  });
});

describe('buildWatcherInfo (full state)', () => {
  const bob = subscription({ watcherDisplayName: 'Bob "the builder"' });
  const carol = subscription({
    id: 'call-2;l;r', watcher: 'carol@example.org', state: 'pending', createdAt: T0 + 1_000, updatedAt: T0 + 1_000,
  });

  it('lists every watcher of the resource, oldest first, as RFC 3858 full state', () => {
    const xml = buildWatcherInfo(RESOURCE, [carol, bob], 0, 'full');
    const info = parseWatcherInfo(xml);
    expect(info).toEqual({
      version: 0,
      state: 'full',
      lists: [{
        resource: RESOURCE,
        package: 'presence',
        watchers: [
          { id: watcherId(bob.id), status: 'active', event: 'subscribe', uri: 'sip:bob@localhost', displayName: 'Bob "the builder"' },
          { id: watcherId(carol.id), status: 'pending', event: 'subscribe', uri: 'sip:carol@example.org' },
        ],
      }],
    });
    expect(buildWatcherInfo(RESOURCE, [bob, carol], 0)).toBe(xml);
  });

  it('is an empty watcher list when nobody watches', () => {
    const info = parseWatcherInfo(buildWatcherInfo(RESOURCE, [], 4));
    expect(info).toEqual({ version: 4, state: 'full', lists: [{ resource: RESOURCE, package: 'presence', watchers: [] }] });
  });

  it('takes the package name, a clock and known events', () => {
    const info = watcherInfoOf(RESOURCE, [bob, carol], 2, 'full', {
      package: 'presence',
      now: T0 + 5_000,
      eventOf: (s) => (s.id === bob.id ? 'approved' : undefined),
    });
    expect(info.lists[0].watchers.map((w) => [w.event, w.durationSubscribed, w.expiration])).toEqual([
      ['approved', 5, 595],
      ['subscribe', 4, 595],
    ]);
  });

  it('keeps the same watcher id in full and partial documents', () => {
    const full = parseWatcherInfo(buildWatcherInfo(RESOURCE, [bob], 0));
    const partial = parseWatcherInfo(buildWatcherInfoChange(RESOURCE, { ...bob, state: 'terminated', reason: 'rejected' }, 'rejected', 1));
    expect(partial.lists[0].watchers[0].id).toBe(full.lists[0].watchers[0].id);
  });
});

describe('buildWatcherInfoChange (partial state)', () => {
  it.each<[string, Partial<SubscriptionRecord>, Parameters<typeof buildWatcherInfoChange>[2], string]>([
    ['a new watcher waiting for authorization', { state: 'pending' }, 'subscribe', 'pending'],
    ['a new watcher authorized at once', { state: 'active' }, 'subscribe', 'active'],
    ['the presentity approves', { state: 'active' }, 'approved', 'active'],
    ['the presentity rejects', { state: 'terminated', reason: 'rejected' }, 'rejected', 'terminated'],
    ['the subscription expires', { state: 'terminated', reason: 'timeout' }, 'timeout', 'terminated'],
    ['the server deactivates it', { state: 'terminated', reason: 'deactivated' }, 'deactivated', 'terminated'],
    ['pending too long', { state: 'terminated', reason: 'giveup' }, 'giveup', 'terminated'],
  ])('%s', (_name, over, event, status) => {
    const s: WatchedSubscription = subscription(over);
    const info = parseWatcherInfo(buildWatcherInfoChange(RESOURCE, s, event, 7));
    expect(info.version).toBe(7);
    expect(info.state).toBe('partial');
    expect(info.lists).toEqual([{
      resource: RESOURCE, package: 'presence',
      watchers: [{ id: watcherId(s.id), status, event, uri: 'sip:bob@localhost' }],
    }]);
  });
});
