import { KeybridgeError } from '../errors.ts';
import type { RootKey } from '../sealing/root-key.ts';
import type { RootKeySource } from '../sealing/root-key-source.ts';
import type { RootKeyRecord, Storage } from '../storage/types.ts';
import { resealCaKey } from './ca-store.ts';
import { activeRecord, adoptConfiguredRootKey } from './root-key-ring-store.ts';

/**
 * Root key rotation (`keybridge server rotate-root`): a new root key, every vault's data key
 * re-wrapped from the old root key to the new one (values are not touched: the data keys stay
 * the same), the sealed CA key likewise, and only then the old key destroyed.
 *
 * Every step is recorded in storage before the next begins, so a crash at any point is
 * finished by running the command again, or by starting the server:
 *   1. the new key's id and locator are recorded `pending`, then the key is made;
 *   2. in one transaction the old key becomes `retiring` and the new one `active` (from here
 *      no vault can be created under the old key: see Storage.ensureVault);
 *   3. each vault sealed by the old key is re-wrapped with a compare-and-set on its root key
 *      id, pass after pass until none is left; then the CA key;
 *   4. the old key is destroyed (file removed, or C_DestroyObject), then recorded `destroyed`.
 * A `pending` software key whose file was never written cannot be made any more (its bytes
 * died with the process): it is recorded `destroyed` and nothing was sealed by it.
 */
export type RotationStep =
  | { step: 'planned'; keyId: string }
  | { step: 'created'; keyId: string }
  | { step: 'abandoned'; keyId: string }
  | { step: 'activated'; from: string; to: string }
  | { step: 'resealed'; vaultId: string; count: number }
  | { step: 'ca-resealed'; to: string }
  | { step: 'destroyed'; keyId: string }
  | { step: 'finished'; from: string; to: string; resealed: number };

export interface RotationOptions {
  storage: Storage;
  source: RootKeySource;
  /** The server home, whose sealed CA key is re-sealed too. */
  home?: string;
  /** Told after each durable step: progress output, and the crash tests' hook (cli/commands/roles.ts). */
  onStep?: (step: RotationStep) => void;
  now?: () => Date;
}

export interface RotationResult {
  from: string;
  to: string;
  /** Vaults re-wrapped by this run (an interrupted run's vaults are not counted again). */
  resealed: number;
  /** True when this run finished a rotation that an earlier run began. */
  resumed: boolean;
}

/** Finishes an interrupted rotation if there is one; otherwise rotates to a new root key. */
export async function rotateRootKey(options: RotationOptions): Promise<RotationResult> {
  const now = options.now ?? (() => new Date());
  await (await adoptConfiguredRootKey(options.storage, options.source, now))?.close();
  const resumed = await finishRootKeyRotation(options);
  if (resumed) return resumed;
  const active = activeRecord(await options.storage.listRootKeys());
  const plan = options.source.plan();
  const recorded = await options.storage.addRootKey(
    { keyId: plan.keyId, kind: options.source.kind, locator: plan.locator, state: 'pending' },
    now().toISOString(),
  );
  if (!recorded) throw new KeybridgeError('root-key-unavailable', 'another root key rotation began at the same time; run it again');
  options.onStep?.({ step: 'planned', keyId: plan.keyId });
  const created = await plan.create();
  await created.close();
  options.onStep?.({ step: 'created', keyId: plan.keyId });
  const finished = await finishRootKeyRotation(options);
  if (!finished || finished.from !== active.keyId) throw new KeybridgeError('internal', 'the root key rotation did not finish');
  return { ...finished, resumed: false };
}

/** Finishes a rotation that is under way; null when none is. */
export async function finishRootKeyRotation(options: RotationOptions): Promise<RotationResult | null> {
  const { storage } = options;
  const now = options.now ?? (() => new Date());
  let records = await storage.listRootKeys();
  const pending = records.find((r) => r.state === 'pending');
  if (pending && !records.some((r) => r.state === 'retiring')) {
    await activatePending(options, pending, activeRecord(records), now);
    records = await storage.listRootKeys();
  }
  const retiring = records.find((r) => r.state === 'retiring');
  if (!retiring) return null;
  const active = activeRecord(records);
  const resealed = await retire(options, retiring, active, now);
  options.onStep?.({ step: 'finished', from: retiring.keyId, to: active.keyId, resealed });
  return { from: retiring.keyId, to: active.keyId, resealed, resumed: true };
}

async function activatePending(options: RotationOptions, pending: RootKeyRecord, active: RootKeyRecord, now: () => Date): Promise<void> {
  const key = await options.source.resume(pending.locator, pending.keyId);
  if (!key) {
    await options.storage.setRootKeyStates([{ keyId: pending.keyId, from: 'pending', to: 'destroyed' }], now().toISOString());
    options.onStep?.({ step: 'abandoned', keyId: pending.keyId });
    return;
  }
  await key.close();
  const flip = [
    { keyId: active.keyId, from: 'active', to: 'retiring' },
    { keyId: pending.keyId, from: 'pending', to: 'active' },
  ] as const;
  // False when a concurrent run flipped first: the caller re-reads the records either way.
  if (await options.storage.setRootKeyStates(flip, now().toISOString())) {
    options.onStep?.({ step: 'activated', from: active.keyId, to: pending.keyId });
  }
}

/** Re-wraps everything sealed by `retiring`, then destroys it. Returns how many vaults this run re-wrapped. */
async function retire(options: RotationOptions, retiring: RootKeyRecord, active: RootKeyRecord, now: () => Date): Promise<number> {
  const { storage, source } = options;
  let oldKey: RootKey;
  try {
    oldKey = await source.open(retiring.locator, retiring.keyId);
  } catch (error) {
    // Destroyed by a run that crashed before recording it: fine once nothing needs it.
    if ((await storage.listVaults({ rootKeyId: retiring.keyId })).length > 0) throw error;
    await source.destroy(retiring.locator, retiring.keyId);
    await markDestroyed(options, retiring, now);
    return 0;
  }
  let count = 0;
  const newKey = await source.open(active.locator, active.keyId).catch(async (error: unknown) => {
    await oldKey.close();
    throw error;
  });
  try {
    // Pass after pass: a vault created just before the state change may show up late.
    for (let vaults = await storage.listVaults({ rootKeyId: retiring.keyId }); vaults.length > 0;) {
      for (const vault of vaults) {
        const dataKey = await oldKey.unwrapDataKey(vault.sealedDataKey);
        try {
          const sealedDataKey = await newKey.wrapDataKey(dataKey);
          if (await storage.resealVault(vault.vaultId, retiring.keyId, { sealedDataKey, rootKeyId: active.keyId })) {
            options.onStep?.({ step: 'resealed', vaultId: vault.vaultId, count: ++count });
          }
        } finally {
          dataKey.fill(0);
        }
      }
      vaults = await storage.listVaults({ rootKeyId: retiring.keyId });
    }
    if (options.home && (await resealCaKey(options.home, oldKey, newKey))) options.onStep?.({ step: 'ca-resealed', to: active.keyId });
    if (!oldKey.destroy) throw new KeybridgeError('config-invalid', `root key ${oldKey.keyId} cannot be destroyed by keybridge`);
    await oldKey.destroy();
    options.onStep?.({ step: 'destroyed', keyId: retiring.keyId });
  } finally {
    await Promise.allSettled([oldKey.close(), newKey.close()]);
  }
  await markDestroyed(options, retiring, now);
  return count;
}

async function markDestroyed(options: RotationOptions, retiring: RootKeyRecord, now: () => Date): Promise<void> {
  // False when a concurrent run recorded it first: the outcome is the same.
  await options.storage.setRootKeyStates([{ keyId: retiring.keyId, from: 'retiring', to: 'destroyed' }], now().toISOString());
}
