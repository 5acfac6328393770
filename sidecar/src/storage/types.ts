import type { Environment } from '../protocol/keyservice.ts';

/**
 * The key service's storage, behind one interface: SQLite (embedded default) and, later,
 * PostgreSQL (several stateless server nodes share one database). Both must pass
 * `storageConformanceSuite()` in `sidecar/test-helpers/storage-conformance/`.
 *
 * Storage holds nothing readable: the key service seals every record under the vault's
 * data key before it gets here, and the data key itself is sealed by the root key. The
 * only plain fields are opaque ids (vault ids, HMAC key ids), counters and timestamps.
 *
 * Every method is async and every write is one transaction. A write is durable when its
 * promise resolves (a crash right after must not lose it).
 */

/** Identifies a vault: one per (site, environment, region). */
export interface VaultKey {
  siteId: string;
  environment: Environment;
  region: string;
}

export interface SealedDataKey {
  /** The vault's data key, sealed by the root key. */
  sealedDataKey: Uint8Array;
  /** `RootKey.keyId` of the root key that sealed it. */
  rootKeyId: string;
}

export interface VaultRecord extends SealedDataKey {
  vaultId: string;
}

/** A secret as written: two sealed blobs, so listings never read the (large) values. */
export interface SecretWrite {
  vaultId: string;
  /** Opaque key id (64 lowercase hex). */
  keyId: string;
  /** Sealed metadata (name, label, KEK id). */
  meta: Uint8Array;
  /** Sealed value (the kb1 ciphertext). */
  value: Uint8Array;
  /** ISO 8601; becomes `updatedAt`. */
  at: string;
}

export interface SecretMetaRecord {
  keyId: string;
  meta: Uint8Array;
  /** 1 on first write, +1 on every later write; never reused, even after a delete. */
  version: number;
  updatedAt: string;
  /** How many times `recordReads()` counted this key since it was (re)created. */
  reads: number;
}

export interface SecretRecord extends SecretMetaRecord {
  value: Uint8Array;
}

/** Who did what, written in the same transaction as the change it records. */
export interface WriteAudit {
  at: string;
  actor: string;
  op: string;
}

export interface AuditEntry {
  /** ISO 8601. */
  at: string;
  /** Who: the client certificate subject, or an operator. */
  actor: string;
  /** What: `put`, `get`, `list`, `delete`, … */
  op: string;
  vaultId?: string;
  /** The opaque key id only, never a name. */
  keyId?: string;
  /** `ok`, `not-found`, or a problem type; for `usage` rows `reads=N,denied=N,last=<time>`. */
  result: string;
}

export interface AuditRecord extends AuditEntry {
  /** Position in the log: strictly increasing, assigned by the storage. */
  seq: number;
}

export interface AuditFilter {
  vaultId?: string;
  keyId?: string;
  actor?: string;
  op?: string;
  /** Only entries with `seq` greater than this (for paging). */
  afterSeq?: number;
  /** Inclusive lower bound on `at` (ISO 8601, compared as text). */
  since?: string;
  /** Exclusive upper bound on `at`. */
  until?: string;
  /** Default 1000, at most 10000. Entries come oldest first. */
  limit?: number;
}

/**
 * The life of a root key, recorded so a rotation survives a crash at any point:
 * `pending` (chosen, maybe not yet made) → `active` (seals new data keys) → `retiring` (still
 * opens data keys not yet re-wrapped) → `destroyed` (gone; seals nothing). At most one key is
 * pending, one active and one retiring at any time (the storage enforces it).
 */
export type RootKeyState = 'pending' | 'active' | 'retiring' | 'destroyed';
export const ROOT_KEY_STATES: readonly RootKeyState[] = ['pending', 'active', 'retiring', 'destroyed'];

export interface RootKeyRecord {
  /** `RootKey.keyId`. */
  keyId: string;
  kind: 'software' | 'pkcs11';
  /**
   * Where the key lives, relative to the configuration: a file name in the directory of
   * `rootKey.file` (software) or a CKA_LABEL in the configured token (PKCS#11). Never a secret.
   */
  locator: string;
  state: RootKeyState;
  createdAt: string;
  updatedAt: string;
}

/** One compare-and-set step of `setRootKeyStates`. */
export interface RootKeyStateChange {
  keyId: string;
  from: RootKeyState;
  to: RootKeyState;
}

export const AUDIT_DEFAULT_LIMIT = 1000;
export const AUDIT_MAX_LIMIT = 10_000;

export interface Storage {
  /** The vault for `key`, or null if none was ever created. */
  findVault(key: VaultKey): Promise<VaultRecord | null>;
  /**
   * The vault for `key`, created if missing. `makeSealedDataKey` may run even when a
   * concurrent caller (in this or another process) wins the race; every caller gets the
   * winner's record.
   *
   * Refuses (`root-key-unavailable`, nothing created) a data key sealed by a root key that
   * `root_keys` records in a state other than `active`: once a rotation has begun, no new
   * vault can appear under the key it retires, so the rotation's last pass sees every vault.
   * A key id the table does not know is accepted (storage used without root key records).
   */
  ensureVault(key: VaultKey, makeSealedDataKey: () => Promise<SealedDataKey>): Promise<VaultRecord>;
  /** Every vault (optionally only those sealed by `rootKeyId`), ordered by vault id. */
  listVaults(filter?: { rootKeyId?: string }): Promise<VaultRecord[]>;
  /**
   * Replaces a vault's sealed data key if it is still sealed by `expectedRootKeyId`
   * (compare-and-set, so two rotations or a crashed one resumed never lose a re-wrap).
   * Returns whether it changed. Refuses, like `ensureVault`, a target key not `active`.
   */
  resealVault(vaultId: string, expectedRootKeyId: string, sealed: SealedDataKey): Promise<boolean>;

  /** The recorded root keys, oldest first. */
  listRootKeys(): Promise<RootKeyRecord[]>;
  /**
   * Records a root key. Returns false (and changes nothing) if its key id is recorded, or
   * if another key already holds its state (`pending`, `active` and `retiring` are unique).
   */
  addRootKey(record: Omit<RootKeyRecord, 'createdAt' | 'updatedAt'>, at: string): Promise<boolean>;
  /**
   * Applies every change in order, in one transaction, each only if the key is in its
   * `from` state; if any does not apply (or breaks a uniqueness rule) none does and the
   * result is false.
   */
  setRootKeyStates(changes: readonly RootKeyStateChange[], at: string): Promise<boolean>;

  /**
   * Inserts or replaces a secret and appends `audit` (result `ok`, with this vault and key
   * id) in the same transaction. Returns the new version, assigned atomically.
   */
  upsertSecret(write: SecretWrite, audit: WriteAudit): Promise<{ version: number; updatedAt: string }>;
  /** The secrets that exist among `keyIds`, keyed by key id. */
  getSecrets(vaultId: string, keyIds: readonly string[]): Promise<Map<string, SecretRecord>>;
  /** Metadata of every secret in the vault, ordered by key id. */
  listSecrets(vaultId: string): Promise<SecretMetaRecord[]>;
  /**
   * Deletes a secret and appends `audit` (result `ok` if it existed, else `not-found`) in
   * the same transaction. Returns whether it existed.
   */
  deleteSecret(vaultId: string, keyId: string, audit: WriteAudit): Promise<boolean>;
  /** Adds one read to each existing key among `keyIds` (duplicates count once). */
  recordReads(vaultId: string, keyIds: readonly string[]): Promise<void>;

  /** Appends one or more entries in one transaction. The log cannot be changed or shortened. */
  appendAudit(entries: AuditEntry | readonly AuditEntry[]): Promise<void>;
  listAudit(filter?: AuditFilter): Promise<AuditRecord[]>;

  close(): Promise<void>;
}
