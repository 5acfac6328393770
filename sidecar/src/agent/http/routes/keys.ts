import { Hono } from 'hono';
import { KeybridgeError } from '../../../errors.ts';
import type { AgentKeys, KeyFetched, KeyRead, KeyWritten } from '../../keys/keys.ts';
import { LIMITS } from '../../../protocol/local-api.ts';
import { onlyFields, optionalString, readJsonObject, requiredString } from '../../../http/json-body.ts';
import { listingBodies } from './listing-body.ts';
import { listingQuery } from './listing-query.ts';

/** At most this many names in one fetch (spec.yaml limits): one page request rarely needs more than a few. */
export const MAX_FETCH_NAMES = LIMITS.fetchNames;

export function keyRoutes(keys: AgentKeys): Hono {
  const app = new Hono();

  const listingBody = listingBodies();
  app.get('/', async (c) => {
    const { limit, after } = listingQuery(c.req.query());
    const page = await keys.list(limit, after);
    return c.body(listingBody(keys.environment, page), 200, { 'Content-Type': 'application/json' });
  });

  app.post('/set', async (c) => {
    const body = await readJsonObject(c);
    onlyFields(body, ['name', 'value', 'value_base64', 'label', 'wrapping_key']);
    const value = readValue(body);
    const written = await keys.set(body.name, value, {
      label: optionalString(body, 'label'),
      wrappingKey: optionalString(body, 'wrapping_key'),
    });
    return c.json(writtenJson(written));
  });

  app.post('/generate', async (c) => {
    const body = await readJsonObject(c);
    onlyFields(body, ['name', 'bits', 'label', 'wrapping_key']);
    const written = await keys.generate(body.name, body.bits, {
      label: optionalString(body, 'label'),
      wrappingKey: optionalString(body, 'wrapping_key'),
    });
    return c.json(writtenJson(written));
  });

  // POST /get and /fetch, the hot reads, are the pipeline's (pipeline.ts, readOperations below).

  app.post('/rotate', async (c) => {
    const body = await readJsonObject(c);
    onlyFields(body, ['name', 'wrapping_key']);
    return c.json(writtenJson(await keys.rotate(body.name, requiredString(body, 'wrapping_key'))));
  });

  app.post('/delete', async (c) => {
    const body = await readJsonObject(c);
    onlyFields(body, ['name']);
    return c.json({ name: await keys.delete(body.name), deleted: true });
  });

  return app;
}

/**
 * The two read operations a page request makes, as plain functions of the parsed body,
 * answered by the request pipeline (pipeline.ts) for both of its front ends. `getCached` / `fetchCached` give the same
 * answer (after the same checks, in the same order) without a promise when every record
 * it needs is cached and fresh, and null otherwise.
 */
export function readOperations(keys: AgentKeys) {
  const getArguments = (body: Record<string, unknown>) => {
    onlyFields(body, ['name', 'wrapping_key']);
    return { name: body.name, wrappingKey: requiredString(body, 'wrapping_key') };
  };
  const getJson = (read: KeyRead) => ({ name: read.name, value_base64: Buffer.from(read.value).toString('base64'), version: read.version });
  const fetchNames = (body: Record<string, unknown>): unknown[] => {
    onlyFields(body, ['names']);
    const names = body.names;
    if (!Array.isArray(names) || names.length === 0 || names.length > MAX_FETCH_NAMES) {
      throw new KeybridgeError('invalid-field', `must be an array of 1 to ${MAX_FETCH_NAMES} names`, { field: 'names' });
    }
    return names;
  };
  const fetchJson = (fetched: KeyFetched[]) => ({
    site_id: keys.siteId,
    environment: keys.environment,
    cache_ttl_ms: keys.cacheTtlMs,
    keys: fetched.map((item) =>
      item.found
        ? { name: item.name, found: true, key_id: item.keyId, kek_id: item.kekId, ciphertext: item.ciphertext, version: item.version }
        : { name: item.name, found: false, key_id: item.keyId },
    ),
  });
  return {
    async get(body: Record<string, unknown>) {
      const { name, wrappingKey } = getArguments(body);
      return getJson(await keys.get(name, wrappingKey));
    },
    async fetch(body: Record<string, unknown>) {
      return fetchJson(await keys.fetch(fetchNames(body)));
    },
    getCached(body: Record<string, unknown>) {
      const { name, wrappingKey } = getArguments(body);
      const read = keys.getCached(name, wrappingKey);
      return read === null ? null : getJson(read);
    },
    fetchCached(body: Record<string, unknown>) {
      const fetched = keys.fetchCached(fetchNames(body));
      return fetched === null ? null : fetchJson(fetched);
    },
  };
}

export type ReadOperations = ReturnType<typeof readOperations>;

export function writtenJson(written: KeyWritten) {
  return { name: written.name, wrapping_key: written.wrappingKey, version: written.version };
}

const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/** `value` (UTF-8 text) or `value_base64` (any bytes): exactly one of them. */
function readValue(body: Record<string, unknown>): Uint8Array {
  const text = body.value;
  const encoded = body.value_base64;
  if ((text === undefined) === (encoded === undefined)) {
    throw new KeybridgeError('invalid-value', 'give exactly one of value or value_base64', { field: 'value' });
  }
  if (text !== undefined) {
    if (typeof text !== 'string') throw new KeybridgeError('invalid-value', 'must be a string', { field: 'value' });
    // A \uD800 escape without its pair is valid JSON but no UTF-8 text: it would be stored as U+FFFD.
    if (LONE_SURROGATE.test(text)) {
      throw new KeybridgeError('invalid-value', 'is not valid Unicode text (a lone surrogate): send bytes as value_base64', {
        field: 'value',
      });
    }
    return new Uint8Array(Buffer.from(text, 'utf8'));
  }
  if (typeof encoded !== 'string' || !/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(encoded)) {
    throw new KeybridgeError('invalid-value', 'must be standard base64 with padding', { field: 'value_base64' });
  }
  return new Uint8Array(Buffer.from(encoded, 'base64'));
}
