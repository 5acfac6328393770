import { describe, expect, it } from 'vitest';
import { derSerialHex, normalizeSerialHex, randomSerialHex } from './serial.ts';

describe('serial numbers', () => {
  it('normalises case, leading zeros and colons', () => {
    expect(normalizeSerialHex('00AB')).toBe('ab');
    expect(normalizeSerialHex('0a:1B:ff')).toBe('a1bff');
    expect(normalizeSerialHex('1')).toBe('1');
  });

  it('refuses zero, non-hex and more than 20 bytes', () => {
    for (const bad of ['', '0', '000', 'xyz', '-1', '12 34', 'ff'.repeat(20), '01'.repeat(21)]) {
      expect(() => normalizeSerialHex(bad), bad).toThrow();
    }
    expect(normalizeSerialHex('7f'.repeat(20))).toBe('7f'.repeat(20));
  });

  it('writes DER INTEGER content: whole bytes, 00 before a set top bit', () => {
    expect(derSerialHex('1')).toBe('01');
    expect(derSerialHex('ff')).toBe('00ff');
    expect(derSerialHex('7f')).toBe('7f');
    expect(derSerialHex('abc')).toBe('0abc');
    expect(derSerialHex('8abc')).toBe('008abc');
  });

  it('makes random positive serials of up to 16 bytes, canonical, all different', () => {
    const serials = new Set(Array.from({ length: 200 }, () => randomSerialHex()));
    expect(serials.size).toBe(200);
    for (const serial of serials) {
      expect(serial).toMatch(/^[1-9a-f][0-9a-f]*$/);
      expect(serial.length).toBeLessThanOrEqual(32);
      expect(normalizeSerialHex(serial)).toBe(serial);
      expect(derSerialHex(serial).length).toBeLessThanOrEqual(32);
    }
  });
});
