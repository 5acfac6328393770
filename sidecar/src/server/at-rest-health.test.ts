import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { KeybridgeError } from '../errors.ts';
import type { RootKey } from '../sealing/root-key.ts';
import { openSoftwareRootKey } from '../sealing/software.ts';
import { openSqliteStorage } from '../storage/sqlite/storage.ts';
import { KeyService } from './key-service.ts';

// The at-rest verdict behind KeyService.info(); the SoftHSM case (token removed and restored)
// is in root-rotation-pkcs11.test.ts.
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A software root key whose probe is counted and can be made to fail or hang. */
async function instrumented(): Promise<{ key: RootKey; probes: () => number; mode: { value: 'ok' | 'fail' | 'hang' | 'none' } }> {
  const dir = mkdtempSync(join(tmpdir(), 'kb-health-'));
  dirs.push(dir);
  const real = await openSoftwareRootKey(join(dir, 'root.key'));
  let count = 0;
  const mode = { value: 'ok' as 'ok' | 'fail' | 'hang' | 'none' };
  const key = new Proxy(real, {
    get(target, property) {
      if (property === 'probe') {
        if (mode.value === 'none') return undefined;
        return async () => {
          count++;
          if (mode.value === 'fail') throw new KeybridgeError('root-key-unavailable', 'token gone (test)');
          if (mode.value === 'hang') return new Promise(() => undefined);
          return target.probe!();
        };
      }
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { key, probes: () => count, mode };
}

async function service(key: RootKey, cacheMs?: number, timeoutMs?: number): Promise<KeyService> {
  const dir = mkdtempSync(join(tmpdir(), 'kb-health-db-'));
  dirs.push(dir);
  return new KeyService({
    storage: await openSqliteStorage(join(dir, 'db')),
    rootKey: key,
    region: 'eu',
    version: 't',
    atRestProbe: { cacheMs, timeoutMs },
  });
}

describe('KeyService.info() at-rest health', () => {
  it('probes once for concurrent and repeated calls within the cache period (5 s by default)', async () => {
    const { key, probes } = await instrumented();
    const ks = await service(key);
    const infos = await Promise.all(Array.from({ length: 20 }, () => ks.info()));
    for (let i = 0; i < 20; i++) infos.push(await ks.info());
    expect(probes()).toBe(1);
    for (const info of infos) expect(info.atRest).toMatchObject({ kind: 'software', healthy: true });
    await ks.close();
  });

  it('probes again after the cache period, and reports a failure with its detail while still answering', async () => {
    const { key, probes, mode } = await instrumented();
    const ks = await service(key, 50);
    expect((await ks.info()).atRest.healthy).toBe(true);
    mode.value = 'fail';
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect((await ks.info()).atRest).toEqual({
      kind: 'software',
      description: key.description,
      healthy: false,
      detail: 'token gone (test)',
    });
    mode.value = 'ok';
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect((await ks.info()).atRest.healthy).toBe(true);
    expect(probes()).toBe(3);
    await ks.close();
  });

  it('counts a probe that hangs as failed, after its timeout', async () => {
    const { key, mode } = await instrumented();
    mode.value = 'hang';
    const ks = await service(key, 0, 200);
    const started = Date.now();
    expect((await ks.info()).atRest).toMatchObject({ healthy: false, detail: 'no answer within 200 ms' });
    expect(Date.now() - started).toBeLessThan(2000);
    await ks.close();
  });

  it('gives no verdict for a root key that cannot be probed', async () => {
    const { key, mode } = await instrumented();
    mode.value = 'none';
    const ks = await service(key);
    expect((await ks.info()).atRest).toEqual({ kind: 'software', description: key.description });
    await ks.close();
  });
});
