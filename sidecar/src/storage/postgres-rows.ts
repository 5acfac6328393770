import { KeybridgeError } from '../errors.ts';
import type { AuditRecord, SecretMetaRecord } from './types.ts';

/** Row conversions for the PostgreSQL storage: bigint columns arrive as strings, bytea as Buffers. */
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

export function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function fromBuffer(value: unknown): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new KeybridgeError('storage-failure', 'a stored blob is missing');
  return new Uint8Array(value);
}
