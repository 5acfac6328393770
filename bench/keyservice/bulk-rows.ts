import { sealMeta, sealValue } from '../../sidecar/src/server/record-seal.ts';
import type { BenchSite } from './secrets.ts';

/**
 * Rows for the bench's bulk loaders: the exact blobs `KeyService.put` would store (sealed
 * with record-seal.ts under the vault's data key, bound to vault and key id), so
 * `KeyService.get` opens them like any other record. Only the transaction around them differs
 * (no per-row audit, no per-row fsync), which is what makes a million of them affordable.
 */
export interface OpenVault {
  vaultId: string;
  dataKey: Uint8Array;
}

export interface SealedRow {
  keyId: string;
  meta: Buffer;
  value: Buffer;
}

export function sealedRow(site: BenchSite, vault: OpenVault, i: number): SealedRow {
  const request = site.bulkRequest(i);
  const meta = sealMeta(vault.dataKey, vault.vaultId, request.keyId, request);
  const value = sealValue(vault.dataKey, vault.vaultId, request.keyId, request.ciphertext);
  return { keyId: request.keyId, meta: asBuffer(meta), value: asBuffer(value) };
}

/** Rows `from` … `to - 1`. */
export function sealedRows(site: BenchSite, vault: OpenVault, from: number, to: number): SealedRow[] {
  const rows: SealedRow[] = [];
  for (let i = from; i < to; i++) rows.push(sealedRow(site, vault, i));
  return rows;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
