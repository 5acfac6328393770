import { fromUtf8, openBytes, sealBytes, utf8 } from '../crypto/index.ts';
import { KeybridgeError } from '../errors.ts';

/**
 * How the key service seals each stored record under its vault's data key (AES-256-GCM).
 * The AAD binds the record part, the vault id and the key id, so a blob cannot be moved to
 * another key, another vault, or swapped between the metadata and value slots.
 */
export interface RecordMeta {
  sealedName: string;
  sealedLabel: string;
  kekId: string;
}

type Part = 'meta' | 'value';

function aad(part: Part, vaultId: string, keyId: string): Uint8Array {
  return utf8(`keybridge-record-v1\u0000${part}\u0000${vaultId}\u0000${keyId}`);
}

export function sealMeta(dataKey: Uint8Array, vaultId: string, keyId: string, meta: RecordMeta): Uint8Array {
  const plain = JSON.stringify({ v: 1, n: meta.sealedName, l: meta.sealedLabel, k: meta.kekId });
  return sealBytes(dataKey, utf8(plain), aad('meta', vaultId, keyId));
}

export function sealValue(dataKey: Uint8Array, vaultId: string, keyId: string, ciphertext: string): Uint8Array {
  return sealBytes(dataKey, utf8(ciphertext), aad('value', vaultId, keyId));
}

export function openMeta(dataKey: Uint8Array, vaultId: string, keyId: string, sealed: Uint8Array): RecordMeta {
  const plain = open(dataKey, 'meta', vaultId, keyId, sealed);
  let parsed: unknown;
  try {
    parsed = JSON.parse(fromUtf8(plain));
  } catch {
    throw corrupt(keyId, 'metadata');
  }
  const record = parsed as Record<string, unknown>;
  if (
    typeof parsed !== 'object' ||
    parsed === null ||
    record.v !== 1 ||
    typeof record.n !== 'string' ||
    typeof record.l !== 'string' ||
    typeof record.k !== 'string'
  ) {
    throw corrupt(keyId, 'metadata');
  }
  return { sealedName: record.n, sealedLabel: record.l, kekId: record.k };
}

export function openValue(dataKey: Uint8Array, vaultId: string, keyId: string, sealed: Uint8Array): string {
  try {
    return fromUtf8(open(dataKey, 'value', vaultId, keyId, sealed));
  } catch (error) {
    if (error instanceof KeybridgeError && error.type === 'storage-corrupt') throw error;
    throw corrupt(keyId, 'value', error);
  }
}

function open(dataKey: Uint8Array, part: Part, vaultId: string, keyId: string, sealed: Uint8Array): Uint8Array {
  try {
    return openBytes(dataKey, sealed, aad(part, vaultId, keyId));
  } catch (error) {
    throw corrupt(keyId, part === 'meta' ? 'metadata' : 'value', error);
  }
}

function corrupt(keyId: string, what: string, cause?: unknown): KeybridgeError {
  return new KeybridgeError(
    'storage-corrupt',
    `the stored ${what} of key id ${keyId.slice(0, 16)}… does not authenticate under its vault key`,
    { cause },
  );
}
