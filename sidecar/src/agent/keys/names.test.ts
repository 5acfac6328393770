import { describe, expect, it } from 'vitest';
import vectors from './names.vectors.json' with { type: 'json' };
import { InvalidNameError, checkNewKeyName, nameSkeleton, normaliseKeyName, type NameRule } from './names.ts';

/** The rule a name breaks under `check`, or 'ok'. */
function verdict(check: (name: string) => string, name: string): NameRule | 'ok' {
  try {
    check(name);
    return 'ok';
  } catch (error) {
    if (!(error instanceof InvalidNameError)) throw error;
    expect(error.type).toBe('invalid-name');
    expect(error.field).toBe('name');
    return error.rule;
  }
}

describe('key names (names.vectors.json, shared with PHPUnit)', () => {
  it.each(vectors.names.map((vector) => [vector.why, vector] as const))('%s', (_why, vector) => {
    expect(verdict(normaliseKeyName, vector.name)).toBe(vector.existing);
    expect(verdict(checkNewKeyName, vector.name)).toBe(vector.new);
    if (vector.new === 'ok') {
      expect(checkNewKeyName(vector.name)).toBe(vector.normalised);
      expect(nameSkeleton(vector.normalised as string)).toBe(vector.skeleton);
    }
  });

  it.each(vectors.confusable)('%s and %s pass alone but share a skeleton', (first, second) => {
    expect(nameSkeleton(checkNewKeyName(first))).toBe(nameSkeleton(checkNewKeyName(second)));
  });

  it.each(vectors.distinct)('%s and %s stay apart', (first, second) => {
    expect(nameSkeleton(checkNewKeyName(first))).not.toBe(nameSkeleton(checkNewKeyName(second)));
  });

  it('names the rule in words and never echoes the name', () => {
    expect(() => checkNewKeyName('a\u3164b')).toThrow(/U\+3164, which Unicode does not recommend in identifiers/);
    expect(() => checkNewKeyName('\u0440\u0430ssword')).toThrow(/mixes scripts that look alike in one segment \(Cyrl, Latn\)/);
    expect(() => checkNewKeyName('\u0301', 'items[2].name')).toThrow(expect.objectContaining({ field: 'items[2].name' }));
  });
});
