import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SoftHsm, startSoftHsm } from '../../../../fixtures/softhsm/softhsm.ts';
import { rootKeyConformance } from '../../../test-helpers/root-key-conformance.ts';
import { openPkcs11RootKey, type Pkcs11RootKeyOptions } from './pkcs11.ts';
import type { RootKey } from '../root-key.ts';

// A real SoftHSM token made by fixtures/softhsm/up.sh; nothing is mocked.
const REPO = resolve(fileURLToPath(import.meta.url), '../../../..');
const PKCS11_TS = fileURLToPath(new URL('./pkcs11.ts', import.meta.url));
const PKCS11JS = createRequire(import.meta.url).resolve('pkcs11js');
const run = promisify(execFile);

let dir: string;
let hsm: SoftHsm;
const opened: RootKey[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kb-softhsm-'));
  hsm = await startSoftHsm(join(dir, 'hsm'));
  // SoftHSM reads its configuration from this process's environment at C_Initialize.
  process.env.SOFTHSM2_CONF = hsm.conf;
});
afterAll(async () => {
  for (const key of opened.splice(0)) await key.close();
  await hsm?.down();
  rmSync(dir, { recursive: true, force: true });
});

const label = (what: string): string => `${what}-${randomBytes(4).toString('hex')}`;
const options = (over: Partial<Pkcs11RootKeyOptions> = {}): Pkcs11RootKeyOptions => ({
  module: hsm.module,
  tokenLabel: hsm.token,
  pinFile: hsm.pinFile,
  keyLabel: 'root',
  createIfMissing: true,
  ...over,
});
async function open(over: Partial<Pkcs11RootKeyOptions> = {}): Promise<RootKey> {
  const key = await openPkcs11RootKey(options(over));
  opened.push(key);
  return key;
}
const dataKey = (): Uint8Array => new Uint8Array(randomBytes(32));
const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b));
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));
async function until(condition: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}
function pinFile(content: string, mode = 0o600): string {
  const file = join(dir, `${label('pin')}.pin`);
  writeFileSync(file, content, { mode });
  chmodSync(file, mode);
  return file;
}

/** Runs `script` in a separate node process (with tsx), with SOFTHSM2_CONF and `input` as JSON. */
async function child(script: string, input: unknown, useTsx = true): Promise<any> {
  const args = [...(useTsx ? ['--import', 'tsx'] : []), '--input-type=module', '-e', script];
  const env = { ...process.env, ...hsm.env, KB_CHILD: JSON.stringify(input) };
  const { stdout } = await run(process.execPath, args, { cwd: REPO, env, timeout: 20_000 });
  return JSON.parse(stdout.trim().split('\n').pop()!);
}

describe('PKCS#11 root key on SoftHSM', () => {
  it('generates the key in the token, describes it and seals 32 bytes to 61 (AES-GCM, SoftHSM)', async () => {
    const keyLabel = label('root');
    const key = await open({ keyLabel });
    expect(key.kind).toBe('pkcs11');
    expect(key.description).toBe(`PKCS#11 libsofthsm2.so, token "keybridge", key "${keyLabel}"`);
    expect(key.keyId).toMatch(/^[0-9a-f]{16}$/);
    const plain = dataKey();
    const wrapped = await key.wrapDataKey(plain);
    expect(wrapped.length).toBe(1 + 12 + 32 + 16);
    expect(wrapped[0]).toBe(2);
    expect(Buffer.from(wrapped).includes(Buffer.from(plain))).toBe(false);
    expect(same(await key.unwrapDataKey(wrapped), plain)).toBe(true);
    // Random IVs: sealing the same key twice gives different bytes.
    expect(same(await key.wrapDataKey(plain), wrapped)).toBe(false);
  });

  it('keeps the root key inside the token: sensitive, not extractable, CKA_VALUE refused, wrapping refused', async () => {
    const keyLabel = label('inside');
    const key = await open({ keyLabel });
    const script = `
      import { createRequire } from 'node:module'; import { readFileSync } from 'node:fs';
      const p = createRequire(import.meta.url)(${JSON.stringify(PKCS11JS)});
      const a = JSON.parse(process.env.KB_CHILD); const m = new p.PKCS11(); m.load(a.module);
      m.C_Initialize({ flags: p.CKF_OS_LOCKING_OK });
      const slot = m.C_GetSlotList(true).find((s) => m.C_GetTokenInfo(s).label.trimEnd() === a.token);
      const s = m.C_OpenSession(slot, p.CKF_SERIAL_SESSION);
      m.C_Login(s, p.CKU_USER, readFileSync(a.pinFile, 'utf8').trim());
      m.C_FindObjectsInit(s, [{ type: p.CKA_LABEL, value: a.keyLabel }]); const found = m.C_FindObjects(s, 5); m.C_FindObjectsFinal(s);
      const get = (t) => m.C_GetAttributeValue(s, found[0], [{ type: t }])[0].value;
      const out = { count: found.length, token: get(p.CKA_TOKEN)[0], private: get(p.CKA_PRIVATE)[0],
        sensitive: get(p.CKA_SENSITIVE)[0], extractable: get(p.CKA_EXTRACTABLE)[0], aes: get(p.CKA_KEY_TYPE).readUInt32LE(0) === p.CKK_AES,
        len: get(p.CKA_VALUE_LEN).readUInt32LE(0), id: get(p.CKA_ID).toString('hex') };
      try { get(p.CKA_VALUE); out.value = 'readable'; } catch (e) { out.value = e.message; }
      const w = m.C_GenerateKey(s, { mechanism: p.CKM_AES_KEY_GEN }, [{ type: p.CKA_CLASS, value: p.CKO_SECRET_KEY },
        { type: p.CKA_VALUE_LEN, value: 32 }, { type: p.CKA_TOKEN, value: false }, { type: p.CKA_WRAP, value: true }]);
      try { m.C_WrapKey(s, { mechanism: p.CKM_AES_KEY_WRAP_PAD }, w, found[0], Buffer.alloc(64)); out.wrap = 'wrapped'; } catch (e) { out.wrap = e.message; }
      m.C_Finalize(); console.log(JSON.stringify(out));`;
    const out = await child(script, { module: hsm.module, token: hsm.token, pinFile: hsm.pinFile, keyLabel }, false);
    expect(out).toEqual({
      count: 1,
      token: 1,
      private: 1,
      sensitive: 1,
      extractable: 0,
      aes: true,
      len: 32,
      id: key.keyId,
      value: 'CKR_ATTRIBUTE_SENSITIVE',
      wrap: 'CKR_KEY_UNEXTRACTABLE',
    });
  });

  it('finds the same key by label in a second instance and in a second process', async () => {
    const keyLabel = label('shared');
    const first = await open({ keyLabel });
    const second = await open({ keyLabel, createIfMissing: false });
    expect(second.keyId).toBe(first.keyId);
    const plain = dataKey();
    const wrapped = await first.wrapDataKey(plain);
    expect(same(await second.unwrapDataKey(wrapped), plain)).toBe(true);

    const script = `
      const { openPkcs11RootKey } = await import(${JSON.stringify(PKCS11_TS)});
      const a = JSON.parse(process.env.KB_CHILD); const out = {};
      try { await openPkcs11RootKey({ ...a.options, pinFile: a.wrongPin }); out.wrongPin = 'opened'; }
      catch (e) { out.wrongPin = { type: e.type, field: e.field, message: e.message }; }
      const key = await openPkcs11RootKey(a.options);
      out.keyId = key.keyId;
      out.unwrapped = Buffer.from(await key.unwrapDataKey(Buffer.from(a.wrapped, 'hex'))).toString('hex');
      out.wrapped = Buffer.from(await key.wrapDataKey(Buffer.from(a.plain, 'hex'))).toString('hex');
      await key.close(); console.log(JSON.stringify(out));`;
    const wrongPin = pinFile('not-the-pin\n');
    const out = await child(script, {
      options: options({ keyLabel, createIfMissing: false }),
      wrongPin,
      wrapped: Buffer.from(wrapped).toString('hex'),
      plain: Buffer.from(plain).toString('hex'),
    });
    expect(out.keyId).toBe(first.keyId);
    expect(out.unwrapped).toBe(Buffer.from(plain).toString('hex'));
    expect(same(await first.unwrapDataKey(Buffer.from(out.wrapped, 'hex')), plain)).toBe(true);
    // A fresh process logs in with the wrong PIN: the token itself refuses it.
    expect(out.wrongPin).toMatchObject({ type: 'config-invalid', field: 'rootKey.pinFile' });
    expect(out.wrongPin.message).toContain('CKR_PIN_INCORRECT');
    expect(out.wrongPin.message).not.toContain('not-the-pin');
  });

  it('refuses a wrong PIN while another root key is logged in, without echoing either PIN', async () => {
    await open({ keyLabel: label('logged-in') });
    const error = await openPkcs11RootKey(options({ pinFile: pinFile('wrong-pin-123\n') })).catch((e) => e);
    expect(error).toMatchObject({ type: 'config-invalid', field: 'rootKey.pinFile' });
    expect(error.message).not.toContain('wrong-pin-123');
    expect(error.message).not.toContain(readFileSync(hsm.pinFile, 'utf8').trim());
  });

  it('names the field at fault for each configuration mistake', async () => {
    const cases: Array<[Partial<Pkcs11RootKeyOptions>, string]> = [
      [{ keyLabel: label('missing'), createIfMissing: false }, 'rootKey.keyLabel'],
      [{ module: join(dir, 'no-such-module.so') }, 'rootKey.module'],
      [{ module: hsm.conf }, 'rootKey.module'], // exists, but is not a shared library
      [{ tokenLabel: 'no-such-token' }, 'rootKey.tokenLabel'],
      [{ pinFile: join(dir, 'no-such.pin') }, 'rootKey.pinFile'],
      [{ pinFile: pinFile('1234\n', 0o644) }, 'rootKey.pinFile'],
      [{ pinFile: pinFile('\n') }, 'rootKey.pinFile'],
      [{ keyLabel: '' }, 'rootKey.keyLabel'],
      [{ mechanism: 'aes-kwp' }, 'rootKey.mechanism'], // SoftHSM offers KWP for C_WrapKey only
      [{ mechanism: 'des' as 'aes-gcm' }, 'rootKey.mechanism'],
      [{ maxSessions: Number.NaN }, 'rootKey.maxSessions'],
    ];
    for (const [over, field] of cases) {
      await expect(openPkcs11RootKey(options(over)), field).rejects.toMatchObject({ type: 'config-invalid', field });
    }
  });

  it('tells altered data from a lost token: the error says so and the next call just works', async () => {
    const key = await open({ keyLabel: label('altered') });
    const plain = dataKey();
    const wrapped = await key.wrapDataKey(plain);
    const altered = wrapped.slice();
    altered[20] ^= 0x80;
    await expect(key.unwrapDataKey(altered)).rejects.toMatchObject({
      type: 'root-key-unavailable',
      message: expect.stringContaining('does not open'),
    });
    expect(same(await key.unwrapDataKey(wrapped), plain)).toBe(true);
  });

  it('serves 1,000 concurrent wrap+unwrap calls', async () => {
    const key = await open({ keyLabel: label('busy') });
    const plains = Array.from({ length: 1000 }, dataKey);
    const opened = await Promise.all(plains.map(async (p) => key.unwrapDataKey(await key.wrapDataKey(p))));
    expect(opened.every((o, i) => same(o, plains[i]))).toBe(true);
  });

  it('fails with root-key-unavailable while the token is gone and recovers by itself once it is back', async () => {
    const key = await open({ keyLabel: label('vanish') });
    const plain = dataKey();
    const sealedBefore = await key.wrapDataKey(plain);
    let ok = 0;
    let stop = false;
    const failures: unknown[] = [];
    const worker = async (): Promise<void> => {
      while (!stop) {
        try {
          const d = dataKey();
          if (!same(await key.unwrapDataKey(await key.wrapDataKey(d)), d)) throw new Error('round trip mismatch');
          ok++;
        } catch (error) {
          failures.push(error);
          await sleep(2);
        }
      }
    };
    const workers = Array.from({ length: 16 }, worker);
    try {
      await until(() => ok >= 300, 'calls before removal');
      hsm.removeTokenDir();
      await until(() => failures.length >= 50, 'failures while the token is gone');
      const okWhileGone = ok;
      await sleep(100);
      expect(ok - okWhileGone).toBeLessThanOrEqual(16); // at most calls already in flight
      hsm.restoreTokenDir();
      const okAtRestore = ok;
      await until(() => ok >= okAtRestore + 300, 'calls after restore');
    } finally {
      stop = true;
      hsm.restoreTokenDir();
      await Promise.all(workers);
    }
    for (const error of failures) expect(error).toMatchObject({ name: 'KeybridgeError', type: 'root-key-unavailable' });
    expect(same(await key.unwrapDataKey(sealedBefore), plain)).toBe(true);
  });

  it('generates the key with a chosen CKA_ID, and destroys it in the token (C_DestroyObject)', async () => {
    const keyLabel = label('chosen');
    const keyId = randomBytes(8).toString('hex');
    const key = await openPkcs11RootKey(options({ keyLabel, keyId }));
    expect(key.keyId).toBe(keyId);
    const neighbour = await open({ keyLabel: label('neighbour') });
    await key.probe!();
    await key.destroy!();
    await expect(key.wrapDataKey(dataKey())).rejects.toMatchObject({ type: 'root-key-unavailable' });
    await expect(openPkcs11RootKey(options({ keyLabel, createIfMissing: false }))).rejects.toMatchObject({
      type: 'config-invalid',
      field: 'rootKey.keyLabel',
    });
    // The other key on the token, and the login, are untouched.
    const plain = dataKey();
    expect(same(await neighbour.unwrapDataKey(await neighbour.wrapDataKey(plain)), plain)).toBe(true);
    await expect(openPkcs11RootKey(options({ keyId: 'not-hex' }))).rejects.toMatchObject({ field: 'rootKey.keyId' });
  });

  it('probes the token: rejects while it is gone, passes again by itself once it is back', async () => {
    const key = await open({ keyLabel: label('probe') });
    await key.probe!();
    hsm.removeTokenDir();
    try {
      await expect(key.probe!()).rejects.toMatchObject({ type: 'root-key-unavailable' });
      await expect(key.probe!()).rejects.toMatchObject({ type: 'root-key-unavailable' });
    } finally {
      hsm.restoreTokenDir();
    }
    const end = Date.now() + 10_000;
    for (;;) {
      try {
        await key.probe!();
        break;
      } catch (error) {
        if (Date.now() > end) throw error;
        await sleep(50);
      }
    }
  });

  it('closes one root key without logging out another on the same token', async () => {
    const a = await openPkcs11RootKey(options({ keyLabel: label('a') }));
    const b = await open({ keyLabel: label('b') });
    await a.close();
    await expect(a.wrapDataKey(dataKey())).rejects.toMatchObject({ type: 'root-key-unavailable' });
    const plain = dataKey();
    expect(same(await b.unwrapDataKey(await b.wrapDataKey(plain)), plain)).toBe(true);
  });
});

// Each place is a key label of its own in the token; opening it again finds the same key.
rootKeyConformance('pkcs11 (SoftHSM)', () => {
  const keyLabel = label('conformance');
  return () => openPkcs11RootKey(options({ keyLabel }));
});
