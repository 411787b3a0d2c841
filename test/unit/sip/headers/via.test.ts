import { describe, expect, it } from 'vitest';
import {
  formatVia, isSipError, parseVia, viaBranch, viaReceived, viaRport,
} from '../../../../src/sip/index.js';

function sipErrorOf(fn: () => unknown): { code: string; status: number; detail: string | undefined } | undefined {
  try {
    fn();
  } catch (err) {
    if (isSipError(err)) return { code: err.code, status: err.status, detail: err.detail };
    throw err;
  }
  return undefined;
}

describe('Via', () => {
  it.each([
    ['SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds', {
      protocol: 'SIP/2.0', transport: 'UDP', host: 'pc33.atlanta.com', port: undefined,
    }, [['branch', 'z9hG4bK776asdhds']]],
    ['SIP/2.0/tcp 192.0.2.1:5060;branch=z9hG4bK1;rport;received=192.0.2.9', {
      transport: 'TCP', host: '192.0.2.1', port: 5060,
    }, [['branch', 'z9hG4bK1'], ['rport', null], ['received', '192.0.2.9']]],
    ['SIP  /   2.0 /UDP 192.0.2.2;branch=390skdjuw', { protocol: 'SIP/2.0', transport: 'UDP', host: '192.0.2.2' },
      [['branch', '390skdjuw']]],
    ['SIP  / 2.0  / TCP     spindle.example.com   ;  branch  =   z9hG4bK9ikj8', { host: 'spindle.example.com' },
      [['branch', 'z9hG4bK9ikj8']]],
    ['SIP/2.0/WSS [2001:DB8::9]:443;branch=z9hG4bKx', { transport: 'WSS', host: '[2001:db8::9]', port: 443 },
      [['branch', 'z9hG4bKx']]],
    ['SIP/2.0/UDP Host.Example.COM : 5070', { host: 'host.example.com', port: 5070 }, []],
    ['sip/2.0/UNKNOWN t4.example.com', { protocol: 'SIP/2.0', transport: 'UNKNOWN' }, []],
  ])('parseVia(%j)', (text, fields, params) => {
    const via = parseVia(text);
    expect(via).toMatchObject(fields);
    expect([...via.params]).toEqual(params);
  });

  it.each([
    '', 'SIP/2.0', 'SIP/2.0/UDP', 'SIP/2.0/UDP ', 'SIP/2.0/UDPhost', 'SIP 2.0 UDP host', 'SIP/2.0/UDP host:',
    'SIP/2.0/UDP host:99999', 'SIP/2.0/UDP 192.0.2.15;;', 'SIP/2.0/UDP [::1', 'SIP/2.0/UDP host junk',
    'SIP/2.0/UDP h;branch=', '/2.0/UDP host',
  ])('rejects %j', (text) => {
    expect(sipErrorOf(() => parseVia(text))).toMatchObject({ code: 'BAD_HEADER', detail: expect.stringMatching(/^bad Via: /) });
  });

  it('formats and re-parses', () => {
    const text = 'SIP/2.0/TCP [2001:db8::1]:5061;branch=z9hG4bKabc;rport=5061;received=2001:db8::2';
    expect(formatVia(parseVia(text))).toBe(text);
    expect(formatVia(parseVia('SIP / 2.0 / udp a.b ; branch = x'))).toBe('SIP/2.0/UDP a.b;branch=x');
  });

  it('helpers read branch, received, rport', () => {
    const v = parseVia('SIP/2.0/UDP a;branch=z9hG4bK1;received=10.0.0.1;rport=5062');
    expect(viaBranch(v)).toBe('z9hG4bK1');
    expect(viaReceived(v)).toBe('10.0.0.1');
    expect(viaRport(v)).toBe(5062);
    expect(viaRport(parseVia('SIP/2.0/UDP a;rport'))).toBeNull();
    expect(viaRport(parseVia('SIP/2.0/UDP a;rport=99999'))).toBeNull();
    expect(viaRport(parseVia('SIP/2.0/UDP a'))).toBeUndefined();
    expect(viaBranch(parseVia('SIP/2.0/UDP a;branch'))).toBeUndefined();
  });
});
