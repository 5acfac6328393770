import { readFile, stat } from 'node:fs/promises';
import { KeybridgeError } from '../../errors.ts';
import type { Mechanism } from './attach.ts';
import { pkcs11js } from './library.ts';

/** The PKCS#11 root key's sealed format and PIN file, apart from pkcs11.ts to keep it short. */
export const FORMAT: Record<Mechanism, number> = { 'aes-kwp': 1, 'aes-gcm': 2 };
const GCM_AAD = Buffer.from('keybridge root key seal v1');
export const IV_BYTES = 12;
export const TAG_BYTES = 16;

export function gcm(iv: Buffer) {
  const p = pkcs11js();
  return {
    mechanism: p.CKM_AES_GCM,
    parameter: { type: p.CK_PARAMS_AES_GCM, iv, aad: GCM_AAD, ivBits: IV_BYTES * 8, tagBits: TAG_BYTES * 8 },
  };
}

export function seal(format: number, ...parts: Buffer[]): Uint8Array {
  return new Uint8Array(Buffer.concat([Buffer.of(format), ...parts]));
}

/** The PIN file: one line, not readable by others (group is allowed for a service group). Never echoed. */
export async function readPin(path: string): Promise<string> {
  const refuse = (why: string, cause?: unknown): KeybridgeError =>
    new KeybridgeError('config-invalid', `PIN file ${path} ${why}`, { field: 'rootKey.pinFile', cause });
  let text: string;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw refuse('is not a regular file');
    if ((info.mode & 0o007) !== 0) throw refuse(`is open to others (mode ${(info.mode & 0o777).toString(8)}); make it 0600`);
    if (info.size > 1024) throw refuse('is too large to hold a PIN');
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (error instanceof KeybridgeError) throw error;
    throw refuse(`cannot be read: ${(error as NodeJS.ErrnoException).code ?? 'unknown error'}`, error);
  }
  const pin = text.replace(/\r?\n$/, '');
  if (pin.length === 0 || /[\r\n\0]/.test(pin)) throw refuse('must hold the PIN on a single line');
  return pin;
}
