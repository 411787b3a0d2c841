import { describe, expect, it } from 'vitest';
import * as zlib from 'node:zlib';
import { isStunMessage, stunBindingSuccess, stunBindingTransactionId } from '../../../src/transport/stun.js';

// RFC 5769 §2.2 and §2.3 sample responses: transaction id, mapped address/port, and the
// XOR-MAPPED-ADDRESS attribute (header + value) they carry.
const TID = Buffer.from('b7e7a701bc34d686fa87dfae', 'hex');
const VECTORS = [
  { family: 4 as const, address: '192.0.2.1', port: 32853, attribute: '00200008' + '0001a147' + 'e112a643' },
  {
    family: 6 as const,
    address: '2001:db8:1234:5678:11:2233:4455:6677',
    port: 32853,
    attribute: '00200014' + '0002a147' + '0113a9fa' + 'a5d3f179' + 'bc25f4b5' + 'bed2b9d9',
  },
];

function bindingRequest(tid: Buffer): Buffer {
  const b = Buffer.alloc(20);
  b.writeUInt16BE(0x0001, 0);
  b.writeUInt32BE(0x2112a442, 4);
  tid.copy(b, 8);
  return b;
}

describe('STUN keep-alive answers (RFC 5389 / RFC 5626 §4.4.2)', () => {
  it.each(VECTORS)('encodes XOR-MAPPED-ADDRESS for IPv$family as in RFC 5769', ({ family, address, port, attribute }) => {
    const res = stunBindingSuccess(TID, address, port, family);
    expect(res.readUInt16BE(0)).toBe(0x0101);
    expect(res.readUInt16BE(2)).toBe(res.length - 20);
    expect(res.subarray(8, 20)).toEqual(TID);
    const attrLength = attribute.length / 2;
    expect(res.subarray(20, 20 + attrLength).toString('hex')).toBe(attribute);
    const fp = 20 + attrLength;
    expect(res.readUInt16BE(fp)).toBe(0x8028);
    expect(res.readUInt16BE(fp + 2)).toBe(4);
    expect(res.length).toBe(fp + 8);
    const crc32 = (zlib as { crc32?: (b: Buffer) => number }).crc32;
    if (crc32) expect(res.readUInt32BE(fp + 4)).toBe((crc32(res.subarray(0, fp)) ^ 0x5354554e) >>> 0);
    expect(isStunMessage(res)).toBe(true);
  });

  it('accepts Binding requests only, and never a SIP message', () => {
    expect(stunBindingTransactionId(bindingRequest(TID))).toEqual(TID);
    const indication = bindingRequest(TID);
    indication.writeUInt16BE(0x0011, 0);
    expect(stunBindingTransactionId(indication)).toBeUndefined();
    const noCookie = bindingRequest(TID);
    noCookie.writeUInt32BE(0, 4);
    expect(isStunMessage(noCookie)).toBe(false);
    const badLength = Buffer.concat([bindingRequest(TID), Buffer.alloc(4)]);
    expect(isStunMessage(badLength)).toBe(false);
    expect(isStunMessage(Buffer.from('OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 0\r\n\r\n'))).toBe(false);
  });
});
