import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TABLES_PATH, deriveNameTables, renderNameTables } from '../../../unicode/derive-name-tables.ts';
import { isAllowedInIdentifiers, scriptsOf, skeleton } from './name-tables.ts';

describe('name tables', () => {
  it('are exactly what the Unicode data files give (derived again here, byte for byte)', () => {
    expect(readFileSync(TABLES_PATH, 'utf8')).toBe(renderNameTables(deriveNameTables()));
  });

  it('answer from the data: Identifier_Status, augmented scripts, confusable prototypes', () => {
    expect(isAllowedInIdentifiers(0x61)).toBe(true);
    expect(isAllowedInIdentifiers(0x3164)).toBe(false); // HANGUL FILLER: Default_Ignorable
    expect(isAllowedInIdentifiers(0xff41)).toBe(false); // FULLWIDTH a: not NFKC
    expect(scriptsOf(0x61)).toEqual(['Latn']);
    expect(scriptsOf(0x440)).toEqual(['Cyrl']);
    expect(scriptsOf(0x6f22)).toEqual(['Hanb', 'Hani', 'Jpan', 'Kore']); // augmented (UTS #39 5.1)
    expect(scriptsOf(0x30)).toBeNull(); // DIGIT ZERO: Common
    expect(skeleton('\u0440\u0430ssword')).toBe('password');
    expect(skeleton('m')).toBe('rn');
  });
});
