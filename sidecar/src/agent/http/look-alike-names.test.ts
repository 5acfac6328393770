import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbedded, type EmbeddedAgent } from '../../../test-helpers/embedded.ts';
import { lockrItem } from '../../../test-helpers/lockr-item.ts';

/**
 * Issue 13, finding 7, against a real agent and key service: names that look like another
 * name, or hold invisible characters, are refused when written, and nothing is stored.
 * The rules themselves are held by names.vectors.json (names.test.ts and PHPUnit).
 */
let agent: EmbeddedAgent;
beforeAll(async () => {
  agent = await startEmbedded();
});
afterAll(async () => {
  await agent?.stop();
});

async function set(name: string, extra: Record<string, unknown> = {}) {
  return agent.call('POST', '/v1/keys/set', { name, value: 'v', ...extra });
}

async function names(): Promise<string[]> {
  const listed = await agent.call('GET', '/v1/keys?limit=1000');
  return listed.json.keys.map((key: { name: string }) => key.name);
}

describe('names from issue 13, each refused when written and nothing stored', () => {
  const cases: [string, string, string][] = [
    ['a\u3164b', 'HANGUL FILLER (U+3164)', 'U+3164'],
    ['a\uffa0b', 'HALFWIDTH HANGUL FILLER (U+FFA0)', 'U+FFA0'],
    ['a\u034fb', 'COMBINING GRAPHEME JOINER (U+034F)', 'U+034F'],
    ['a\ufe0fb', 'VARIATION SELECTOR-16 (U+FE0F)', 'U+FE0F'],
    ['\u0301', 'a lone combining mark', 'combining mark'],
    ['\u0440\u0430ssword', 'Cyrillic р and а in "password"', 'Cyrl, Latn'],
  ];
  for (const [name, why, said] of cases) {
    it(why, async () => {
      const before = await names();
      const response = await set(name);
      expect(response.status).toBe(422);
      expect(response.json).toMatchObject({ type: 'invalid-name', field: 'name' });
      expect(response.json.detail).toContain(said);
      const generated = await agent.call('POST', '/v1/keys/generate', { name, bits: 256 });
      expect(generated.json.type).toBe('invalid-name');
      expect(await names()).toEqual(before);
      // Reads keep the old rules (a key stored before stays readable): no such key, not a refusal.
      const read = await agent.call('POST', '/v1/keys/get', { name, wrapping_key: `kb1$${'A'.repeat(43)}` });
      expect(read.json.type).toBe('key-not-found');
    });
  }
});

describe('two names that look the same cannot both exist in one vault', () => {
  it('refuses "соре" in Cyrillic next to "cope", naming the key it looks like, and keeps "cope" readable', async () => {
    const latin = await set('cope', { value: 'latin value' });
    expect(latin.status).toBe(200);
    const cyrillic = await set('\u0441\u043e\u0440\u0435');
    expect(cyrillic.status).toBe(409);
    expect(cyrillic.json).toMatchObject({ type: 'name-confusable', field: 'name' });
    expect(cyrillic.json.detail).toBe('looks the same as the key "cope"');
    expect(cyrillic.text).not.toContain('latin value');
    expect((await names()).filter((name) => name.endsWith('e') && name.length === 4)).toEqual(['cope']);
    const read = await agent.call('POST', '/v1/keys/get', { name: 'cope', wrapping_key: latin.json.wrapping_key });
    expect(Buffer.from(read.json.value_base64, 'base64').toString()).toBe('latin value');
  });

  it('refuses "keyl" next to "key1" (a look-alike within Latin), and takes "key1" again as an update', async () => {
    expect((await set('service/key1')).status).toBe(200);
    const second = await set('service/keyl');
    expect(second.json).toMatchObject({ type: 'name-confusable' });
    // The same name again is an update, not a look-alike.
    expect((await set('service/key1', { value: 'new' })).status).toBe(200);
  });

  it('frees the look of a name when its key is deleted', async () => {
    expect((await set('box/x')).status).toBe(200);
    expect((await set('box/\u0445')).json.type).toBe('name-confusable');
    expect((await agent.call('POST', '/v1/keys/delete', { name: 'box/x' })).status).toBe(200);
    expect((await set('box/\u0445')).status).toBe(200);
  });

  it('checks imports before writing any item: against the vault and within the batch', async () => {
    const before = await names();
    const lockr = await agent.call('POST', '/v1/import/lockr', {
      items: [lockrItem('import/fine', 'one'), lockrItem('\u0441\u043e\u0440\u0435', 'two')],
    });
    expect(lockr.json).toMatchObject({ type: 'name-confusable', field: 'items[1].name' });
    const withinBatch = await agent.call('POST', '/v1/import/lockr', {
      items: [lockrItem('batch/rn', 'one'), lockrItem('batch/m', 'two')],
    });
    expect(withinBatch.json).toMatchObject({ type: 'name-confusable', field: 'items[1].name' });
    expect(withinBatch.json.detail).toBe('looks the same as the key "batch/rn"');
    expect(await names()).toEqual(before);
  });
});

describe('labels', () => {
  for (const [label, why] of [
    ['evil\u202etxt.exe', 'RIGHT-TO-LEFT OVERRIDE'],
    ['a\u2066b\u2069', 'isolates'],
    ['a\u200fb', 'RIGHT-TO-LEFT MARK'],
    ['a\u061cb', 'ARABIC LETTER MARK'],
    ['line\nbreak', 'a control character'],
  ]) {
    it(`refuses a label with ${why}`, async () => {
      const response = await set('labels/refused', { label });
      expect(response.json).toMatchObject({ type: 'invalid-field', field: 'label' });
    });
  }

  it('takes free text with spaces, punctuation and any script', async () => {
    const response = await set('labels/fine', { label: 'Stripe — live key (מפתח)' });
    expect(response.status).toBe(200);
  });
});
