/**
 * Test helper for sqlite.test.ts (not a test itself): writes one key over and over and
 * prints each acknowledged version on its own line, until the parent kills it with -9.
 */
import { writeSync } from 'node:fs';
import { openSqliteStorage } from '../src/storage/sqlite/storage.ts';
import { AUDIT, KEY_1, VAULT_A, newVault } from './storage-conformance/fixtures.ts';

const storage = await openSqliteStorage(process.argv[2]);
const { vaultId } = await newVault(storage, VAULT_A);
const value = new Uint8Array(4096).fill(0x5a);
for (let i = 0; i < 100_000; i += 1) {
  const { version } = await storage.upsertSecret({ vaultId, keyId: KEY_1, meta: value, value, at: AUDIT.at }, AUDIT);
  writeSync(1, `${version}\n`);
}
