import { Hono } from 'hono';
import { createBundle, openBundle, unwrapLockr } from '../../../crypto/index.ts';
import { KeybridgeError } from '../../../errors.ts';
import type { AgentKeys, KeyWritten } from '../../keys/keys.ts';
import { checkLabel, normaliseKeyName } from '../../keys/names.ts';
import { LIMITS } from '../../../protocol/local-api.ts';
import { onlyFields, readJsonObject, requiredString } from '../../../http/json-body.ts';
import { writtenJson } from './keys.ts';

/**
 * Moving keys in and out: Lockr items, and the passphrase bundle of DESIGN.md.
 * Every item is checked and decrypted before the first one is written, so a bad item
 * fails the batch without leaving half of it stored. Clients send large sets in batches
 * (the CLI does, with a progress bar).
 */
export const MAX_TRANSFER_ITEMS = LIMITS.transferItems;
export const MIN_PASSPHRASE_LENGTH = LIMITS.passphraseMinChars;

export function transferRoutes(keys: AgentKeys): Hono {
  const app = new Hono();

  app.post('/import/lockr', async (c) => {
    const body = await readJsonObject(c);
    onlyFields(body, ['items']);
    const items = itemsArray(body.items, 'items');
    const decoded = items.map((raw, index) => {
      const field = `items[${index}]`;
      const item = objectAt(raw, field);
      onlyFields(item, ['name', 'ciphertext', 'encoded', 'label']);
      const ciphertext = stringAt(item, 'ciphertext', field);
      const encoded = stringAt(item, 'encoded', field);
      const label = item.label === undefined ? undefined : stringAt(item, 'label', field);
      if (label !== undefined) checkLabel(label, `${field}.label`);
      try {
        return { name: item.name, label, value: unwrapLockr(encoded, ciphertext) };
      } catch (error) {
        throw withField(error, field);
      }
    });
    const names = await keys.checkNewNames(decoded.map((item, index) => ({ name: item.name, field: `items[${index}].name` })));
    assertUniqueNames(names);
    const written: KeyWritten[] = [];
    for (const [index, item] of decoded.entries())
      written.push(await keys.set(names[index], item.value, { label: item.label, lookAlikesChecked: true }));
    return c.json({ keys: written.map(writtenJson) });
  });

  app.post('/export', async (c) => {
    const body = await readJsonObject(c);
    onlyFields(body, ['passphrase', 'wrapping_keys']);
    const passphrase = passphraseField(body);
    const wrappingKeys = wrappingKeyMap(body.wrapping_keys, true);
    const labels = new Map((await keys.listAll()).map((key) => [key.name, key.label]));
    const items = [];
    for (const [name, wrappingKey] of wrappingKeys) {
      const read = await keys.get(name, wrappingKey);
      items.push({ name: read.name, label: labels.get(read.name) ?? '', environment: keys.environment, value: read.value });
    }
    return c.json(await createBundle(passphrase, items));
  });

  app.post('/import/bundle', async (c) => {
    const body = await readJsonObject(c);
    onlyFields(body, ['bundle', 'passphrase', 'wrapping_keys']);
    const passphrase = passphraseField(body);
    const wrappingKeys = wrappingKeyMap(body.wrapping_keys ?? {}, false);
    const items = await openBundle(passphrase, body.bundle);
    if (items.length > MAX_TRANSFER_ITEMS) {
      throw new KeybridgeError('bundle-invalid', `at most ${MAX_TRANSFER_ITEMS} items per request`, { field: 'bundle.items' });
    }
    items.forEach((item, index) => {
      if (item.label !== undefined) checkLabel(item.label, `bundle.items[${index}].label`);
    });
    const names = await keys.checkNewNames(items.map((item, index) => ({ name: item.name, field: `bundle.items[${index}].name` })));
    assertUniqueNames(names);
    const written: KeyWritten[] = [];
    for (const [index, item] of items.entries()) {
      written.push(
        await keys.set(names[index], item.value, {
          label: item.label,
          wrappingKey: wrappingKeys.get(names[index]),
          lookAlikesChecked: true,
        }),
      );
    }
    return c.json({ keys: written.map(writtenJson) });
  });

  return app;
}

function itemsArray(value: unknown, field: string): unknown[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_TRANSFER_ITEMS) {
    throw new KeybridgeError('invalid-field', `must be an array of 1 to ${MAX_TRANSFER_ITEMS} items`, { field });
  }
  return value;
}

function objectAt(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new KeybridgeError('invalid-field', 'must be an object', { field });
  }
  return value as Record<string, unknown>;
}

function stringAt(item: Record<string, unknown>, key: string, field: string): string {
  const value = item[key];
  if (typeof value !== 'string' || value === '') {
    throw new KeybridgeError('invalid-field', 'must be a non-empty string', { field: `${field}.${key}` });
  }
  return value;
}

function passphraseField(body: Record<string, unknown>): string {
  const passphrase = requiredString(body, 'passphrase');
  if ([...passphrase].length < MIN_PASSPHRASE_LENGTH) {
    throw new KeybridgeError('invalid-field', `must be at least ${MIN_PASSPHRASE_LENGTH} characters`, {
      field: 'passphrase',
    });
  }
  return passphrase;
}

/** `{name: "kb1$…"}`; for an export it is also the list of keys to export. */
function wrappingKeyMap(value: unknown, required: boolean): Map<string, string> {
  const object = objectAt(value, 'wrapping_keys');
  const entries = Object.entries(object);
  if (required && (entries.length === 0 || entries.length > MAX_TRANSFER_ITEMS)) {
    throw new KeybridgeError('invalid-field', `must name 1 to ${MAX_TRANSFER_ITEMS} keys`, { field: 'wrapping_keys' });
  }
  const map = new Map<string, string>();
  for (const [rawName, kek] of entries) {
    const name = normaliseKeyName(rawName, 'wrapping_keys');
    if (typeof kek !== 'string') {
      throw new KeybridgeError('invalid-wrapping-key', 'must be a kb1$… string', { field: `wrapping_keys` });
    }
    map.set(name, kek);
  }
  return map;
}

function assertUniqueNames(names: readonly string[]): void {
  const seen = new Set<string>();
  for (const [index, name] of names.entries()) {
    if (seen.has(name)) throw new KeybridgeError('invalid-field', 'names the same key twice', { field: `items[${index}].name` });
    seen.add(name);
  }
}

function withField(error: unknown, field: string): unknown {
  if (error instanceof KeybridgeError && error.field === undefined) {
    return new KeybridgeError(error.type, error.detail, { field, cause: error });
  }
  return error;
}
