import { KeybridgeError } from '../errors.ts';
import { KS_PATHS, MAX_USAGE_RECORDS, USAGE_CALLER_PATTERN, type UsageRecord } from '../protocol/keyservice.ts';
import type { AgentKeys } from './keys/keys.ts';
import type { HttpsKeyServiceClient } from './keyservice/https-client.ts';

/**
 * The usage reports of the CMS (spec.yaml `usage.report`): which code of the site read which
 * keys, counted in the CMS (never one call per read). The agent turns each key name into its
 * opaque id — names never reach the key service — and has the key service record the lines in
 * its audit. It keeps nothing itself.
 */
export interface UsageEntry {
  name: unknown;
  caller: unknown;
  reads: unknown;
  denied: unknown;
  last_read_at: unknown;
}

const ENTRY_FIELDS = ['name', 'caller', 'reads', 'denied', 'last_read_at'];
const UTC_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?Z$/;
const MAX_COUNT = 1_000_000_000;

export class UsageReporter {
  readonly #keys: AgentKeys;
  readonly #client: HttpsKeyServiceClient;

  constructor(keys: AgentKeys, client: HttpsKeyServiceClient) {
    this.#keys = keys;
    this.#client = client;
  }

  /** Checks the entries, sends them as usage records, and answers how many were recorded. */
  async report(entries: unknown): Promise<number> {
    const records = this.#records(entries);
    const answer = await this.#client.call<{ recorded: number }>('POST', KS_PATHS.usage, { records });
    return answer.recorded;
  }

  #records(entries: unknown): UsageRecord[] {
    if (!Array.isArray(entries) || entries.length === 0 || entries.length > MAX_USAGE_RECORDS) {
      throw new KeybridgeError('invalid-field', `must be an array of 1 to ${MAX_USAGE_RECORDS} entries`, { field: 'entries' });
    }
    return entries.map((raw, index) => {
      const field = `entries[${index}]`;
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
        throw new KeybridgeError('invalid-field', 'must be an object', { field });
      }
      const entry = raw as UsageEntry & Record<string, unknown>;
      const unknownField = Object.keys(entry).find((key) => !ENTRY_FIELDS.includes(key));
      if (unknownField !== undefined)
        throw new KeybridgeError('invalid-field', 'is not a known field', { field: `${field}.${unknownField}` });
      if (typeof entry.caller !== 'string' || !USAGE_CALLER_PATTERN.test(entry.caller)) {
        throw new KeybridgeError('invalid-field', 'must be plugin:<folder>, mu-plugin:<file>, theme:<folder>, core or unknown', {
          field: `${field}.caller`,
        });
      }
      if (typeof entry.last_read_at !== 'string' || !UTC_TIME.test(entry.last_read_at) || Number.isNaN(Date.parse(entry.last_read_at))) {
        throw new KeybridgeError('invalid-field', 'must be a UTC time such as 2026-01-31T12:00:00Z', { field: `${field}.last_read_at` });
      }
      return {
        // The name's checks (and the invalid-name answer) are the key operations' own.
        keyId: this.#keys.keyIdFor(entry.name as string),
        caller: entry.caller,
        reads: count(entry.reads, `${field}.reads`),
        denied: count(entry.denied, `${field}.denied`),
        lastReadAt: new Date(entry.last_read_at).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      };
    });
  }
}

function count(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_COUNT) {
    throw new KeybridgeError('invalid-field', `must be an integer from 0 to ${MAX_COUNT}`, { field });
  }
  return value;
}
