/**
 * The bench's data: ~100 keys of realistic size (40-character API tokens, as a payment or
 * mail provider hands out), stored through the agent's own API; their KEKs are kept for
 * the read scenarios, and every value is read back once (which also warms the cache).
 */
import { randomBytes } from 'node:crypto';
import type { Target } from './loadgen-protocol.ts';
import type { BenchAuth } from './agent-auth.ts';
import { postOk } from './http-json.ts';

export interface BenchKey {
  name: string;
  value: string;
  wrappingKey: string;
}

const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** "sk_live_" + 32 random base62 characters: 40 bytes. */
function apiToken(): string {
  const bytes = randomBytes(32);
  let out = 'sk_live_';
  for (const byte of bytes) out += BASE62[byte % BASE62.length];
  return out;
}

export function keyName(index: number): string {
  return `bench/api_token_${String(index).padStart(3, '0')}`;
}

export async function setKeys(target: Target, auth: BenchAuth, count: number): Promise<BenchKey[]> {
  const keys: BenchKey[] = [];
  for (let index = 0; index < count; index++) {
    const name = keyName(index);
    const value = apiToken();
    const written = await postOk<{ name: string; wrapping_key: string; version: number }>(target, auth, '/v1/keys/set', {
      name,
      value,
    });
    if (written.name !== name || typeof written.wrapping_key !== 'string')
      throw new Error(`keys/set answered an unexpected body for ${name}`);
    keys.push({ name, value, wrappingKey: written.wrapping_key });
  }
  return keys;
}

/**
 * Reads every key through keys/get (checking the value) and keys/fetch, so both paths are
 * served from the agent's ciphertext cache when load starts.
 */
export async function warmAndCheck(target: Target, auth: BenchAuth, keys: readonly BenchKey[]): Promise<void> {
  for (const key of keys) {
    const read = await postOk<{ value_base64: string }>(target, auth, '/v1/keys/get', {
      name: key.name,
      wrapping_key: key.wrappingKey,
    });
    if (Buffer.from(read.value_base64, 'base64').toString('utf8') !== key.value) {
      throw new Error(`keys/get returned a wrong value for ${key.name}`);
    }
  }
  for (let start = 0; start < keys.length; start += 100) {
    const names = keys.slice(start, start + 100).map((key) => key.name);
    const fetched = await postOk<{ keys: { name: string; found: boolean; ciphertext?: string }[] }>(target, auth, '/v1/keys/fetch', {
      names,
    });
    if (fetched.keys.length !== names.length || fetched.keys.some((item) => !item.found || !item.ciphertext?.startsWith('kb1.'))) {
      throw new Error('keys/fetch did not return a kb1 ciphertext for every key');
    }
  }
}
