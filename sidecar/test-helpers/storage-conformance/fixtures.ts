import type { SealedDataKey, Storage, VaultKey, VaultRecord, WriteAudit } from '../../src/storage/types.ts';

/** Fixtures and the harness type shared by the parts of the storage conformance suite. */
export interface StorageHarness {
  storage: Storage;
  cleanup: () => Promise<void>;
  /**
   * Try to change the audit log behind the interface (raw SQL on the backend). The suite
   * expects both to reject and the log to stay as it was.
   */
  tamperAudit: { update(seq: number): Promise<void>; delete(seq: number): Promise<void> };
  /** A second Storage on the same database, as a second server node would open it. */
  openPeer?: () => Promise<Storage>;
}

export type MakeStorage = () => Promise<StorageHarness>;

export const VAULT_A: VaultKey = { siteId: 'site_alpha', environment: 'development', region: 'eu' };
export const KEY_1 = '1'.repeat(64);
export const KEY_2 = '2'.repeat(64);
export const KEY_3 = 'a'.repeat(64);
export const AUDIT: WriteAudit = { at: '2025-01-01T00:00:00.000Z', actor: 'CN=site_alpha,OU=development', op: 'put' };

export function bytes(...values: number[]): Uint8Array {
  return Uint8Array.from(values);
}

export function sealedKey(fill = 7, rootKeyId = 'root0001'): () => Promise<SealedDataKey> {
  return async () => ({ sealedDataKey: new Uint8Array(40).fill(fill), rootKeyId });
}

export async function newVault(storage: Storage, key: VaultKey = VAULT_A): Promise<VaultRecord> {
  return storage.ensureVault(key, sealedKey());
}
