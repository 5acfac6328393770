import {
  decodeKek,
  encodeKek,
  generateKek,
  kekId,
  nameKey,
  opaqueKeyId,
  openText,
  randomKey,
  sealText,
  wrapValue,
} from '../../crypto/index.ts';
import { KeybridgeError, describeName } from '../../errors.ts';
import type { Environment, KeyServiceClient, StoredSecret } from '../../protocol/keyservice.ts';
import { LIMITS } from '../../protocol/local-api.ts';
import { CiphertextCache } from './cache.ts';
import { NameIndex, type IndexedKey } from './name-index.ts';
import { checkLabel, checkNewKeyName, normaliseKeyName } from './names.ts';
import { PreparedCiphertexts } from './prepared-ciphertexts.ts';
import { RecordReader } from './record-reader.ts';

/**
 * The agent's key operations, free of HTTP: wraps values with per-key KEKs before they
 * leave this process, turns names into opaque ids, and keeps a cache of ciphertexts so
 * reads survive a short key-service outage. The KEKs themselves are never kept here:
 * the CMS holds them and passes them in.
 */

/** Who the agent is to the key service right now (from the certificate store). */
export interface SiteIdentity {
  siteId: string;
  /** 32 random bytes: the HMAC key of opaque ids and the root of the name key. */
  siteSecret: Uint8Array;
  environment: Environment;
}

export const MAX_VALUE_BYTES = LIMITS.valueBytes;
export const MAX_GENERATE_BITS = LIMITS.generateMaxBits;

export interface KeyWritten {
  name: string;
  wrappingKey: string;
  version: number;
}

export interface KeyRead {
  name: string;
  value: Uint8Array;
  version: number;
}

/** A ciphertext and the AAD fields PHP needs to unwrap it in-process with its own KEK. */
export interface KeyFetched {
  name: string;
  found: boolean;
  keyId: string;
  kekId?: string;
  ciphertext?: string;
  version?: number;
}

interface NamedKey {
  name: string;
  keyId: string;
}

export interface KeyListing {
  name: string;
  label: string;
  version: number;
  updatedAt: string;
  reads: number;
}

/** One page of a listing: keys sorted by name, and the name to continue after when there are more. */
export interface KeyPage {
  keys: readonly KeyListing[];
  next: string | null;
}

export interface SetOptions {
  label?: string;
  wrappingKey?: string;
  /** The request checked this name with checkNewNames() already (imports check a whole batch first). */
  lookAlikesChecked?: boolean;
}

/** A name a request is about to write, for checkNewNames(). */
export interface NewName {
  name: unknown;
  field: string;
}

export interface AgentKeysOptions {
  client: KeyServiceClient;
  /** The site as of now: it changes on registration and on the move to production. */
  site: () => SiteIdentity;
  cache: CiphertextCache<StoredSecret>;
}

export class AgentKeys {
  private readonly client: KeyServiceClient;
  private readonly currentSite: () => SiteIdentity;
  private readonly cache: CiphertextCache<StoredSecret>;
  private derived: { secret: Uint8Array; nameKey: Uint8Array } | null = null;
  /** Names whose last read met a different KEK: the status table lists them. */
  private readonly kekMismatches = new Set<string>();
  private readonly reader: RecordReader;
  /** Cached records' ciphertexts parsed once, with their AAD (never plaintext). */
  private readonly ciphertexts = new PreparedCiphertexts();
  /** The vault's names, unsealed once and kept (listings, counts, look-alike checks). */
  private readonly index: NameIndex;

  constructor(options: AgentKeysOptions) {
    this.client = options.client;
    this.currentSite = options.site;
    this.cache = options.cache;
    this.reader = new RecordReader(options.client, options.cache);
    this.index = new NameIndex({
      client: options.client,
      scope: () => ({ siteSecret: this.site.siteSecret, environment: this.site.environment, nameKey: this.nameKey }),
    });
  }

  /** When a read last had to be served stale (ms since the epoch), for the status table. */
  get lastStaleServeAt(): number | null {
    return this.reader.lastStaleServeAt;
  }

  private get site(): SiteIdentity {
    return this.currentSite();
  }

  /** The name key, derived once per site secret. */
  private get nameKey(): Uint8Array {
    const secret = this.site.siteSecret;
    if (!this.derived || this.derived.secret !== secret) this.derived = { secret, nameKey: nameKey(secret) };
    return this.derived.nameKey;
  }

  get siteId(): string {
    return this.site.siteId;
  }

  get environment(): string {
    return this.site.environment;
  }

  get cacheTtlMs(): number {
    return this.cache.ttlMs;
  }

  /**
   * Names as sent -> normalised name and opaque id, per (site secret, environment): the
   * NFC and character checks and an HMAC per read otherwise. Only names that passed the
   * checks are remembered; a name is also remembered under its normalised form.
   */
  private knownNames: { secret: Uint8Array; environment: string; names: Map<string, NamedKey> } | null = null;

  /** The checked name and its opaque id; `at` names the field `names[at]` in errors. */
  private lookupName(raw: unknown, at?: number): NamedKey {
    const site = this.site;
    if (!this.knownNames || this.knownNames.secret !== site.siteSecret || this.knownNames.environment !== site.environment) {
      this.knownNames = { secret: site.siteSecret, environment: site.environment, names: new Map() };
    }
    const known = this.knownNames.names;
    if (typeof raw === 'string') {
      const hit = known.get(raw);
      if (hit !== undefined) return hit;
    }
    const name = normaliseKeyName(raw, at === undefined ? 'name' : `names[${at}]`);
    const named = known.get(name) ?? { name, keyId: opaqueKeyId(site.siteSecret, site.environment, name) };
    if (known.size >= 10_000) known.clear();
    known.set(name, named);
    known.set(raw as string, named);
    return named;
  }

  keyIdFor(name: string): string {
    return this.lookupName(name).keyId;
  }

  /**
   * Checks names one request is about to write, before it writes any: each against the rules
   * for new names (names.ts), against the vault's other names and against each other for
   * look-alikes (name-index.ts). Returns the names as they will be stored.
   */
  async checkNewNames(names: readonly NewName[]): Promise<string[]> {
    const checked = names.map(({ name, field }) => {
      const normalised = checkNewKeyName(name, field);
      return { name: normalised, keyId: this.keyIdFor(normalised), field };
    });
    await this.index.assertNoLookAlikes(checked);
    return checked.map((entry) => entry.name);
  }

  /** Stores a value, reusing the KEK the caller holds for this name (or making one). */
  async set(rawName: unknown, value: Uint8Array, options: SetOptions = {}): Promise<KeyWritten> {
    const name = checkNewKeyName(rawName);
    if (value.length > MAX_VALUE_BYTES) {
      throw new KeybridgeError('invalid-value', `must be at most ${MAX_VALUE_BYTES} bytes`, { field: 'value' });
    }
    const kek = options.wrappingKey !== undefined ? decodeKekField(options.wrappingKey) : generateKek();
    const explicitLabel = options.label === undefined ? undefined : checkLabel(options.label);
    if (!options.lookAlikesChecked) await this.index.assertNoLookAlikes([{ name, keyId: this.keyIdFor(name), field: 'name' }]);
    // Re-setting a value without a label keeps the label it had.
    const label = explicitLabel ?? (await this.currentLabel(name));
    return this.store(name, value, label, kek);
  }

  async generate(rawName: unknown, bits: unknown, options: { label?: string; wrappingKey?: string } = {}): Promise<KeyWritten> {
    if (
      typeof bits !== 'number' ||
      !Number.isInteger(bits) ||
      bits < LIMITS.generateMinBits ||
      bits > MAX_GENERATE_BITS ||
      bits % 8 !== 0
    ) {
      throw new KeybridgeError('invalid-field', `bits must be a multiple of 8 from ${LIMITS.generateMinBits} to ${MAX_GENERATE_BITS}`, {
        field: 'bits',
      });
    }
    return this.set(rawName, randomKey(bits / 8), options);
  }

  async get(rawName: unknown, wrappingKey: unknown): Promise<KeyRead> {
    const { name, keyId } = this.lookupName(rawName);
    const kek = decodeKekField(wrappingKey);
    return this.open(name, keyId, kek, (await this.readRecords([keyId]))[0]);
  }

  /** get(), checked in the same order, when its record is cached and fresh: no promise. Else null. */
  getCached(rawName: unknown, wrappingKey: unknown): KeyRead | null {
    const { name, keyId } = this.lookupName(rawName);
    const kek = decodeKekField(wrappingKey);
    const records = this.reader.readCached([keyId]);
    return records === null ? null : this.open(name, keyId, kek, records[0]);
  }

  private open(name: string, keyId: string, kek: Uint8Array, record: StoredSecret | null): KeyRead {
    if (!record) throw new KeybridgeError('key-not-found', describeName(name), { field: 'name' });
    let value: Uint8Array;
    try {
      // Decrypt first: with the right KEK (the common case) the KEK-id HMAC is not needed.
      value = this.ciphertexts.open(kek, record, this.context(keyId));
    } catch (error) {
      // A wrong KEK fails GCM authentication; the KEK id tells it apart from tampering.
      if (record.kekId !== kekId(kek)) {
        this.kekMismatches.add(name);
        throw new KeybridgeError('kek-mismatch', describeName(name), { field: 'wrapping_key' });
      }
      throw error;
    }
    if (this.kekMismatches.size > 0) this.kekMismatches.delete(name);
    return { name, value, version: record.version };
  }

  /** Ciphertexts for many names in one key-service round trip (cache misses only). */
  async fetch(rawNames: readonly unknown[]): Promise<KeyFetched[]> {
    const named = rawNames.map((raw, index) => this.lookupName(raw, index));
    return fetched(named, await this.readRecords(named.map((entry) => entry.keyId)));
  }

  /** fetch() when every record is cached and fresh: no promise. Else null. */
  fetchCached(rawNames: readonly unknown[]): KeyFetched[] | null {
    const named = rawNames.map((raw, index) => this.lookupName(raw, index));
    const records = this.reader.readCached(named.map((entry) => entry.keyId));
    return records === null ? null : fetched(named, records);
  }

  async rotate(rawName: unknown, wrappingKey: unknown): Promise<KeyWritten> {
    const current = await this.get(rawName, wrappingKey);
    return this.store(current.name, current.value, await this.currentLabel(current.name), generateKek());
  }

  async delete(rawName: unknown): Promise<string> {
    const { name, keyId } = this.lookupName(rawName);
    const deleted = await this.client.delete(keyId);
    this.reader.forgot(keyId);
    this.index.deleted(keyId);
    this.kekMismatches.delete(name);
    if (!deleted) throw new KeybridgeError('key-not-found', describeName(name), { field: 'name' });
    return name;
  }

  /** Up to `limit` keys sorted by name, after the name `after` (a previous page's `next`). */
  async list(limit: number, after: string | null = null): Promise<KeyPage> {
    const page = await this.index.page(limit, after);
    // The index's own objects (read-only): one that did not change is the same object next
    // time, so the route can keep its JSON (routes/keys.ts).
    const keys: readonly KeyListing[] = page.keys;
    return { keys, next: page.more ? keys[keys.length - 1].name : null };
  }

  /** Every key's listing, in no particular order (exports look labels up in it). */
  async listAll(): Promise<KeyListing[]> {
    return (await this.index.all()).map(listing);
  }

  /** How many keys the vault holds (the status table). */
  count(): Promise<number> {
    return this.index.count();
  }

  /** Stored values whose KEK did not match on their last read in this process. */
  namesNeedingReset(): string[] {
    return [...this.kekMismatches].sort();
  }

  private async currentLabel(name: string): Promise<string> {
    const [record] = await this.readRecords([this.keyIdFor(name)]);
    return record ? openText(this.nameKey, record.sealedLabel, 'label', record.keyId) : '';
  }

  private async store(name: string, value: Uint8Array, label: string, kek: Uint8Array): Promise<KeyWritten> {
    const keyId = this.keyIdFor(name);
    const request = {
      keyId,
      sealedName: sealText(this.nameKey, name, 'name', keyId),
      sealedLabel: sealText(this.nameKey, label, 'label', keyId),
      kekId: kekId(kek),
      ciphertext: wrapValue(kek, value, this.context(keyId)),
    };
    const { version, updatedAt } = await this.client.put(request);
    this.reader.stored(keyId, { ...request, version, updatedAt, reads: 0 });
    this.index.stored({
      keyId,
      name,
      label,
      version,
      updatedAt,
      reads: 0,
      sealedName: request.sealedName,
      sealedLabel: request.sealedLabel,
    });
    this.kekMismatches.delete(name);
    return { name, wrappingKey: encodeKek(kek), version };
  }

  /** Records for the ids: cache, single flight, batching, refresh ahead, stale fallback (record-reader.ts). */
  private readRecords(keyIds: readonly string[]): Promise<(StoredSecret | null)[]> {
    return this.reader.read(keyIds);
  }

  private context(keyId: string) {
    const site = this.site;
    return { siteId: site.siteId, environment: site.environment, keyId };
  }
}

function fetched(named: readonly NamedKey[], records: readonly (StoredSecret | null)[]): KeyFetched[] {
  return named.map(({ name, keyId }, index) => {
    const record = records[index];
    if (!record) return { name, found: false, keyId };
    return { name, found: true, keyId: record.keyId, kekId: record.kekId, ciphertext: record.ciphertext, version: record.version };
  });
}

function decodeKekField(value: unknown): Uint8Array {
  if (typeof value !== 'string') {
    throw new KeybridgeError('invalid-wrapping-key', 'must be a kb1$… string', { field: 'wrapping_key' });
  }
  try {
    return decodeKek(value);
  } catch (error) {
    if (error instanceof KeybridgeError) {
      throw new KeybridgeError('invalid-wrapping-key', undefined, { field: 'wrapping_key' });
    }
    throw error;
  }
}

function listing(key: IndexedKey): KeyListing {
  return { name: key.name, label: key.label, version: key.version, updatedAt: key.updatedAt, reads: key.reads };
}
