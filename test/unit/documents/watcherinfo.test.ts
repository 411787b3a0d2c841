import { describe, expect, it } from 'vitest';
import {
  isDocumentError, parseWatcherInfo, serializeWatcherInfo, type WatcherInfo,
} from '../../../src/documents/index.js';

/** RFC 3858 §5 example. */
const RFC3858 = `<?xml version="1.0"?>
<watcherinfo xmlns="urn:ietf:params:xml:ns:watcherinfo"
             version="0" state="full">
  <watcher-list resource="sip:professor@example.net" package="presence">
    <watcher status="active"
             id="8ajksjda7s"
             duration-subscribed="509"
             event="approved" >sip:userA@example.net</watcher>
    <watcher status="pending"
             id="hh8juja87s997-ass7"
             display-name="Mr. Subscriber"
             event="subscribe">sip:userB@example.org</watcher>
  </watcher-list>
</watcherinfo>`;

describe('watcherinfo (RFC 3858)', () => {
  it('reads the RFC 3858 §5 example', () => {
    expect(parseWatcherInfo(RFC3858)).toEqual({
      version: 0,
      state: 'full',
      lists: [{
        resource: 'sip:professor@example.net',
        package: 'presence',
        watchers: [
          { id: '8ajksjda7s', status: 'active', event: 'approved', uri: 'sip:userA@example.net', durationSubscribed: 509 },
          { id: 'hh8juja87s997-ass7', status: 'pending', event: 'subscribe', uri: 'sip:userB@example.org', displayName: 'Mr. Subscriber' },
        ],
      }],
    } satisfies WatcherInfo);
  });

  it('round-trips the RFC example and writes a stable document', () => {
    const info = parseWatcherInfo(RFC3858);
    const xml = serializeWatcherInfo(info);
    expect(parseWatcherInfo(xml)).toEqual(info);
    expect(serializeWatcherInfo(parseWatcherInfo(xml))).toBe(xml);
    expect(xml).toBe('<?xml version="1.0" encoding="UTF-8"?>'
      + '<watcherinfo xmlns="urn:ietf:params:xml:ns:watcherinfo" version="0" state="full">'
      + '<watcher-list resource="sip:professor@example.net" package="presence">'
      + '<watcher id="8ajksjda7s" status="active" event="approved" duration-subscribed="509">sip:userA@example.net</watcher>'
      + '<watcher id="hh8juja87s997-ass7" status="pending" event="subscribe" display-name="Mr. Subscriber">sip:userB@example.org</watcher>'
      + '</watcher-list></watcherinfo>');
  });

  it('reads a prefixed document (winfo:) and an empty list', () => {
    const info = parseWatcherInfo('<winfo:watcherinfo xmlns:winfo="urn:ietf:params:xml:ns:watcherinfo" version="3" state="partial">'
      + '<winfo:watcher-list resource="sip:B@example.com" package="presence">'
      + '<winfo:watcher id="7768a77s" event="subscribe" status="pending">sip:A@example.com</winfo:watcher>'
      + '</winfo:watcher-list><winfo:watcher-list resource="sip:C@example.com" package="presence"/></winfo:watcherinfo>');
    expect(info.version).toBe(3);
    expect(info.state).toBe('partial');
    expect(info.lists.map((l) => l.watchers.length)).toEqual([1, 0]);
  });

  it('escapes display names and writes expiration', () => {
    const info: WatcherInfo = {
      version: 7, state: 'partial', lists: [{
        resource: 'sip:alice@localhost', package: 'presence',
        watchers: [{ id: 'w1', status: 'terminated', event: 'timeout', uri: 'sip:bob@localhost', displayName: 'Bob "B" <&>', expiration: 0 }],
      }],
    };
    const xml = serializeWatcherInfo(info, { indent: '  ' });
    expect(xml).toContain('display-name="Bob &quot;B&quot; &lt;&amp;&gt;" expiration="0">sip:bob@localhost</watcher>');
    expect(parseWatcherInfo(xml)).toEqual(info);
  });

  const doc = (watcher: string, root = 'version="0" state="full"'): string =>
    `<watcherinfo xmlns="urn:ietf:params:xml:ns:watcherinfo" ${root}><watcher-list resource="sip:a@b" package="presence">${watcher}</watcher-list></watcherinfo>`;

  it.each([
    ['wrong root', '<watcherinfo version="0" state="full"/>', /root element/],
    ['missing version', doc('', 'state="full"'), /without a version/],
    ['negative version', doc('', 'version="-1" state="full"'), /non-negative integer/],
    ['bad state', doc('', 'version="0" state="some"'), /state must be one of full, partial/],
    ['missing watcher id', doc('<watcher status="active" event="approved">sip:x@y</watcher>'), /without a id/],
    ['bad status', doc('<watcher id="1" status="gone" event="approved">sip:x@y</watcher>'), /status must be one of/],
    ['bad event', doc('<watcher id="1" status="active" event="liked">sip:x@y</watcher>'), /event must be one of/],
    ['empty URI', doc('<watcher id="1" status="active" event="approved"> </watcher>'), /has no URI/],
    ['bad expiration', doc('<watcher id="1" status="active" event="approved" expiration="soon">sip:x@y</watcher>'), /expiration/],
    ['missing resource', '<watcherinfo xmlns="urn:ietf:params:xml:ns:watcherinfo" version="0" state="full"><watcher-list package="presence"/></watcherinfo>', /resource/],
  ])('%s -> BAD_DOCUMENT', (_name, text, message) => {
    let caught: unknown;
    try {
      parseWatcherInfo(text);
    } catch (err) {
      caught = err;
    }
    expect(isDocumentError(caught) && caught.code === 'BAD_DOCUMENT').toBe(true);
    expect((caught as Error).message).toMatch(message);
  });
});
