import { KeybridgeError } from '../errors.ts';
import { ROOT_KEY_STATES, type RootKeyRecord, type RootKeyStateChange } from './types.ts';

/** Argument checks shared by both storages, so a bad call fails the same way on each. */
export function checkRootKeyRecord(record: Omit<RootKeyRecord, 'createdAt' | 'updatedAt'>): void {
  if (typeof record.keyId !== 'string' || !/^[0-9a-f]{2,128}$/.test(record.keyId)) {
    throw new KeybridgeError('invalid-field', 'a root key id is 2 to 128 lowercase hex characters', { field: 'keyId' });
  }
  if (record.kind !== 'software' && record.kind !== 'pkcs11') {
    throw new KeybridgeError('invalid-field', 'a root key kind is software or pkcs11', { field: 'kind' });
  }
  if (typeof record.locator !== 'string' || record.locator.length === 0 || record.locator.length > 255) {
    throw new KeybridgeError('invalid-field', 'a root key locator is 1 to 255 characters', { field: 'locator' });
  }
  checkState(record.state, 'state');
}

export function checkStateChanges(changes: readonly RootKeyStateChange[]): void {
  if (!Array.isArray(changes) || changes.length === 0) {
    throw new KeybridgeError('invalid-field', 'at least one root key state change is needed', { field: 'changes' });
  }
  for (const change of changes) {
    checkState(change.from, 'from');
    checkState(change.to, 'to');
  }
}

function checkState(state: unknown, field: string): void {
  if (!ROOT_KEY_STATES.includes(state as never)) {
    throw new KeybridgeError('invalid-field', `a root key state is one of ${ROOT_KEY_STATES.join(', ')}`, { field });
  }
}
