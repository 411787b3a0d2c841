import { describe, expect, it } from 'vitest';
import {
  canonicalName, expandCompactName, isListHeader,
} from '../../../../src/sip/index.js';

describe('header names', () => {
  it.each([
    ['i', 'call-id'], ['m', 'contact'], ['e', 'content-encoding'], ['l', 'content-length'], ['c', 'content-type'],
    ['f', 'from'], ['s', 'subject'], ['k', 'supported'], ['t', 'to'], ['v', 'via'], ['o', 'event'],
    ['u', 'allow-events'], ['r', 'refer-to'], ['b', 'referred-by'], ['x', 'session-expires'],
    ['a', 'accept-contact'], ['j', 'reject-contact'], ['d', 'request-disposition'], ['y', 'identity'],
    ['n', 'identity-info'], ['q', 'q'], ['via', 'via'], ['x-custom', 'x-custom'],
  ])('expandCompactName(%s) = %s', (compact, long) => {
    expect(expandCompactName(compact)).toBe(long);
  });

  it.each([
    ['via', true], ['route', true], ['record-route', true], ['contact', true], ['path', true], ['allow', true],
    ['supported', true], ['require', true], ['proxy-require', true], ['unsupported', true], ['accept', true],
    ['allow-events', true], ['warning', true], ['service-route', true], ['p-asserted-identity', true],
    ['security-client', true], ['www-authenticate', false], ['authorization', false],
    ['proxy-authenticate', false], ['proxy-authorization', false], ['date', false], ['from', false],
    ['to', false], ['call-id', false], ['subject', false], ['x-unknown', false], ['event', false],
  ])('isListHeader(%s) = %s', (name, list) => {
    expect(isListHeader(name)).toBe(list);
  });

  it.each([
    ['call-id', 'Call-ID'], ['cseq', 'CSeq'], ['www-authenticate', 'WWW-Authenticate'], ['sip-etag', 'SIP-ETag'],
    ['sip-if-match', 'SIP-If-Match'], ['allow-events', 'Allow-Events'], ['min-expires', 'Min-Expires'],
    ['rseq', 'RSeq'], ['rack', 'RAck'], ['max-forwards', 'Max-Forwards'], ['content-length', 'Content-Length'],
    ['via', 'Via'], ['x-my-header', 'X-My-Header'], ['extensionheader-!.%*+_`\'~', 'Extensionheader-!.%*+_`\'~'],
    ['subscription-state', 'Subscription-State'], ['p-asserted-identity', 'P-Asserted-Identity'],
  ])('canonicalName(%s) = %s', (lower, canonical) => {
    expect(canonicalName(lower)).toBe(canonical);
  });
});
