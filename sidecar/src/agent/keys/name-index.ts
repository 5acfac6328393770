import { openText } from '../../crypto/index.ts';
import { KeybridgeError, describeName } from '../../errors.ts';
import type { KeyServiceClient, StoredSecretMeta } from '../../protocol/keyservice.ts';
import { nameSkeleton } from './names.ts';

/**
 * The agent's index of the names in its vault: what `keys.list`, the status counts and the
 * look-alike check of new names read, kept so that none of them unseals every name per call.
 *
 * - A refresh asks the key service for the list once (single flight: ten listings at once
 *   share it) and unseals only the names and labels whose sealed text changed since the last
 *   one, a few dozen at a time with a turn of the event loop between them, so that reads keep
 *   being answered while 5,000 names are opened (issue 13: every listing used to unseal every
 *   name at once, and a 2 ms read waited 483 ms behind it).
 * - Listings and counts accept an index up to LISTING_MAX_AGE_MS old and refresh it in the
 *   background past that; only the very first waits. Writes through this agent update it at
 *   once, so what this agent did shows without delay. Each listing page still makes one light
 *   authenticated call (whoami), so revoking the certificate stops listings at once.
 * - A new name is checked against an index at most WRITE_MAX_AGE_MS old: its confusable
 *   skeleton (names.ts) must not belong to another key of the vault. Two agents of one vault
 *   writing look-alike names within that window are not stopped (the key service sees only
 *   opaque ids); a key-service check of a skeleton id would close it.
 */
export const LISTING_MAX_AGE_MS = 30_000;
export const WRITE_MAX_AGE_MS = 1_000;
/**
 * Work done per turn of the event loop while refreshing, ~1 ms: an unsealed name and label
 * count 8, a key whose sealed texts did not change 1.
 */
export const REFRESH_SLICE = 256;
const UNSEAL_COST = 8;

export interface IndexedKey {
  keyId: string;
  name: string;
  label: string;
  version: number;
  updatedAt: string;
  reads: number;
  sealedName: string;
  sealedLabel: string;
}

/** Whose vault an index describes: a registration or a move to production starts another. */
export interface IndexScope {
  siteSecret: Uint8Array;
  environment: string;
  nameKey: Uint8Array;
}

interface Snapshot {
  scope: IndexScope;
  refreshedAt: number;
  byId: Map<string, IndexedKey>;
  /** Key id -> the skeleton of its name, and skeleton -> the key ids holding it (more than one only for keys stored before the rule). */
  skeletons: Map<string, string>;
  bySkeleton: Map<string, Set<string>>;
  /** byId's values sorted by name, made when first asked for after a change. */
  sorted: IndexedKey[] | null;
}

export interface IndexOptions {
  client: KeyServiceClient;
  scope: () => IndexScope;
  now?: () => number;
}

export class NameIndex {
  private readonly client: KeyServiceClient;
  private readonly currentScope: () => IndexScope;
  private readonly now: () => number;
  private snapshot: Snapshot | null = null;
  private refreshing: Promise<Snapshot> | null = null;
  /** A whoami on its way: the pages asked meanwhile wait for it too. */
  private confirming: Promise<unknown> | null = null;
  /** Writes made while a refresh is on its way: replayed on its result (null: a deletion). */
  private writesDuringRefresh: Map<string, IndexedKey | null> | null = null;

  constructor(options: IndexOptions) {
    this.client = options.client;
    this.currentScope = options.scope;
    this.now = options.now ?? Date.now;
  }

  /**
   * The keys sorted by name, up to `limit` after the name `after` (exclusive). Each page first
   * asks the key service who this agent is (one light call shared by the pages asked at the
   * same moment), so a revoked certificate lists nothing from the index: it is refused at its
   * next request, like every other call that reaches the key service.
   */
  async page(limit: number, after: string | null): Promise<{ keys: IndexedKey[]; more: boolean }> {
    await this.confirmAccess();
    const snapshot = await this.forListing();
    const sorted = (snapshot.sorted ??= [...snapshot.byId.values()].sort((a, b) => compareNames(a.name, b.name)));
    const start = after === null ? 0 : firstAfter(sorted, after);
    return { keys: sorted.slice(start, start + limit), more: start + limit < sorted.length };
  }

  async count(): Promise<number> {
    return (await this.forListing()).byId.size;
  }

  /** Every key (for exports that need labels): the same index as listings. */
  async all(): Promise<IndexedKey[]> {
    return [...(await this.forListing()).byId.values()];
  }

  /**
   * Refuses a name about to be written when another key of the vault looks the same.
   * `names`: [name, key id, request field] of every name one request writes, checked against
   * the vault and against each other.
   */
  async assertNoLookAlikes(names: readonly { name: string; keyId: string; field: string }[]): Promise<void> {
    const snapshot = await this.fresh(WRITE_MAX_AGE_MS);
    const claimed = new Map<string, string>();
    for (const { name, keyId, field } of names) {
      const skeleton = nameSkeleton(name);
      const owner = claimed.get(skeleton) ?? otherHolder(snapshot, skeleton, keyId);
      if (owner !== undefined && owner !== keyId) {
        const other = snapshot.byId.get(owner)?.name ?? names.find((entry) => entry.keyId === owner)?.name;
        throw new KeybridgeError(
          'name-confusable',
          other === undefined ? 'another key of this vault looks the same' : `looks the same as the key ${describeName(other)}`,
          { field },
        );
      }
      claimed.set(skeleton, keyId);
    }
  }

  /** After this agent stored a key. */
  stored(key: IndexedKey): void {
    this.writesDuringRefresh?.set(key.keyId, key);
    if (this.snapshot && this.inScope(this.snapshot)) put(this.snapshot, key);
  }

  /** After this agent deleted a key. */
  deleted(keyId: string): void {
    this.writesDuringRefresh?.set(keyId, null);
    if (this.snapshot && this.inScope(this.snapshot)) remove(this.snapshot, keyId);
  }

  private confirmAccess(): Promise<unknown> {
    this.confirming ??= this.client.whoami().finally(() => {
      this.confirming = null;
    });
    return this.confirming;
  }

  private async forListing(): Promise<Snapshot> {
    const snapshot = this.snapshot;
    if (!snapshot || !this.inScope(snapshot)) return this.refresh();
    if (this.now() - snapshot.refreshedAt > LISTING_MAX_AGE_MS) this.refresh().catch(() => undefined);
    return snapshot;
  }

  private async fresh(maxAgeMs: number): Promise<Snapshot> {
    const snapshot = this.snapshot;
    if (snapshot && this.inScope(snapshot) && this.now() - snapshot.refreshedAt <= maxAgeMs) return snapshot;
    return this.refresh();
  }

  private inScope(snapshot: Snapshot): boolean {
    const scope = this.currentScope();
    return snapshot.scope.siteSecret === scope.siteSecret && snapshot.scope.environment === scope.environment;
  }

  private refresh(): Promise<Snapshot> {
    this.refreshing ??= this.rebuild().finally(() => {
      this.refreshing = null;
      this.writesDuringRefresh = null;
    });
    return this.refreshing;
  }

  private async rebuild(): Promise<Snapshot> {
    const scope = this.currentScope();
    const started = this.now();
    this.writesDuringRefresh = new Map();
    const metas = await this.client.list();
    const previous = this.snapshot && this.snapshot.scope.siteSecret === scope.siteSecret ? this.snapshot : null;
    const next: Snapshot = { scope, refreshedAt: started, byId: new Map(), skeletons: new Map(), bySkeleton: new Map(), sorted: null };
    let work = 0;
    for (const meta of metas) {
      const known = previous?.byId.get(meta.keyId);
      if (known && known.sealedName === meta.sealedName && known.sealedLabel === meta.sealedLabel) {
        // The same object while nothing changed, so what callers derived from it stays valid.
        const same = known.version === meta.version && known.updatedAt === meta.updatedAt && known.reads === meta.reads;
        put(
          next,
          same ? known : { ...known, version: meta.version, updatedAt: meta.updatedAt, reads: meta.reads },
          previous?.skeletons.get(meta.keyId),
        );
        work += 1;
      } else {
        put(next, unseal(scope.nameKey, meta));
        work += UNSEAL_COST;
      }
      // A turn of the event loop now and then: reads waiting on the socket go first.
      if (work >= REFRESH_SLICE) {
        work = 0;
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    for (const [keyId, key] of this.writesDuringRefresh ?? []) {
      if (key === null) remove(next, keyId);
      else put(next, key);
    }
    // A scope change during the refresh (registration, production): its result is not this vault's.
    if (this.currentScope().siteSecret === scope.siteSecret && this.currentScope().environment === scope.environment) {
      this.snapshot = next;
    }
    return next;
  }
}

function unseal(nameKey: Uint8Array, meta: StoredSecretMeta): IndexedKey {
  return {
    keyId: meta.keyId,
    name: openText(nameKey, meta.sealedName, 'name', meta.keyId),
    label: openText(nameKey, meta.sealedLabel, 'label', meta.keyId),
    version: meta.version,
    updatedAt: meta.updatedAt,
    reads: meta.reads,
    sealedName: meta.sealedName,
    sealedLabel: meta.sealedLabel,
  };
}

/** Adds or replaces a key; `skeleton` when already known (an unchanged name). */
function put(snapshot: Snapshot, key: IndexedKey, skeleton = nameSkeleton(key.name)): void {
  remove(snapshot, key.keyId);
  snapshot.byId.set(key.keyId, key);
  snapshot.skeletons.set(key.keyId, skeleton);
  const holders = snapshot.bySkeleton.get(skeleton);
  if (holders) holders.add(key.keyId);
  else snapshot.bySkeleton.set(skeleton, new Set([key.keyId]));
  snapshot.sorted = null;
}

function remove(snapshot: Snapshot, keyId: string): void {
  const skeleton = snapshot.skeletons.get(keyId);
  if (skeleton === undefined) return;
  snapshot.byId.delete(keyId);
  snapshot.skeletons.delete(keyId);
  const holders = snapshot.bySkeleton.get(skeleton);
  holders?.delete(keyId);
  if (holders?.size === 0) snapshot.bySkeleton.delete(skeleton);
  snapshot.sorted = null;
}

/** A key other than `keyId` whose name has this skeleton. */
function otherHolder(snapshot: Snapshot, skeleton: string, keyId: string): string | undefined {
  for (const holder of snapshot.bySkeleton.get(skeleton) ?? []) if (holder !== keyId) return holder;
  return undefined;
}

/** UTF-16 code unit order, as listings have always been sorted; cursors rely on nothing more than a fixed order. */
function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function firstAfter(sorted: readonly IndexedKey[], after: string): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (compareNames(sorted[middle].name, after) <= 0) low = middle + 1;
    else high = middle;
  }
  return low;
}
