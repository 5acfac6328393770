import { KeybridgeError } from '../errors.ts';
import type { AuditRecord, RootKeyRecord, RootKeyState, SecretMetaRecord, VaultRecord } from './types.ts';

/**
 * Row conversions shared by the SQLite and PostgreSQL storages: both drivers hand blobs over
 * as Buffers and some integers as strings (PostgreSQL bigint), so every field is converted
 * explicitly.
 */
export type Row = Record<string, unknown>;

export function metaFromRow(row: Row): SecretMetaRecord {
  return {
    keyId: String(row.key_id),
    meta: fromBuffer(row.meta),
    version: Number(row.version),
    updatedAt: String(row.updated_at),
    reads: Number(row.reads),
  };
}

export function auditFromRow(row: Row): AuditRecord {
  const record: AuditRecord = {
    seq: Number(row.seq),
    at: String(row.at),
    actor: String(row.actor),
    op: String(row.op),
    result: String(row.result),
  };
  if (row.vault_id !== null) record.vaultId = String(row.vault_id);
  if (row.key_id !== null) record.keyId = String(row.key_id);
  return record;
}

export function vaultFromRow(row: Row): VaultRecord {
  return {
    vaultId: String(row.vault_id),
    sealedDataKey: fromBuffer(row.sealed_data_key),
    rootKeyId: String(row.root_key_id),
  };
}

export function rootKeyFromRow(row: Row): RootKeyRecord {
  return {
    keyId: String(row.key_id),
    kind: String(row.kind) as RootKeyRecord['kind'],
    locator: String(row.locator),
    state: String(row.state) as RootKeyState,
    createdAt: String(row.created_at),
    updatedAt: String(row.updated_at),
  };
}

/** The error `ensureVault` / `resealVault` give for a data key sealed by a key no longer active. */
export function rootKeyNotActive(keyId: string, state: string): KeybridgeError {
  return new KeybridgeError(
    'root-key-unavailable',
    `root key ${keyId} is ${state}: new data keys are sealed by the active root key (a rotation is under way or done)`,
  );
}

export function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function fromBuffer(value: unknown): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new KeybridgeError('storage-failure', 'a stored blob is missing');
  return new Uint8Array(value);
}
