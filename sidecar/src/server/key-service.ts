import { asKeybridgeError, KeybridgeError } from '../errors.ts';
import type {
  ClientIdentity,
  KeyServiceInfo,
  PutSecretRequest,
  StoredSecret,
  StoredSecretMeta,
  UsageRecord,
} from '../protocol/keyservice.ts';
import type { RootKey } from '../sealing/root-key.ts';
import { asRootKeyRing, type RootKeyRing } from '../sealing/root-key-ring.ts';
import type { AuditEntry, Storage } from '../storage/types.ts';
import { openMeta, openValue, sealMeta, sealValue } from './record-seal.ts';
import { isKeyId, validateIdentity, validateKeyId, validateKeyIds, validatePutRequest, validateUsageRecords } from './validate-request.ts';
import { VaultKeyring } from './vault-keyring.ts';
import { AtRestProbe, type AtRestProbeOptions } from './at-rest-health.ts';

/**
 * The key service core, free of any transport: the HTTPS (mTLS) app and the in-process
 * binding both call it with the `ClientIdentity` their transport established.
 *
 * One vault per (site, environment, region). Every stored record is sealed under the
 * vault's data key (see record-seal.ts), so storage holds nothing readable. Every
 * operation but `info()` leaves audit rows (opaque key ids only), failed ones included
 * wherever the storage still accepts a write.
 *
 * The service owns `storage` and `rootKey`: `close()` closes both.
 */
export interface KeyServiceOptions {
  storage: Storage;
  /** One root key, or a ring (the current key plus one being retired, during a rotation). */
  rootKey: RootKey | RootKeyRing;
  /** The at-rest health probe behind `info()` (cache and timeout). */
  atRestProbe?: AtRestProbeOptions;
  region: string;
  /** The keybridge version reported by `info()`. */
  version: string;
  now?: () => Date;
}

interface AuditScope {
  vaultId?: string;
  keyIds: string[];
}

export class KeyService {
  readonly #storage: Storage;
  readonly #rootKeys: RootKeyRing;
  readonly #health: AtRestProbe;
  readonly #region: string;
  readonly #version: string;
  readonly #now: () => Date;
  readonly #vaults: VaultKeyring;
  readonly #inFlight = new Set<Promise<unknown>>();
  #closed = false;

  constructor(options: KeyServiceOptions) {
    this.#storage = options.storage;
    this.#rootKeys = asRootKeyRing(options.rootKey);
    this.#health = new AtRestProbe(this.#rootKeys, options.atRestProbe);
    this.#region = options.region;
    this.#version = options.version;
    this.#now = options.now ?? (() => new Date());
    this.#vaults = new VaultKeyring(options.storage, this.#rootKeys, options.region);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Answers even while the root key is unusable: `atRest.healthy` is then false, with why. */
  async info(): Promise<KeyServiceInfo> {
    this.#assertOpen();
    const health = await this.#health.check();
    const rootKey = this.#rootKeys.current;
    return {
      version: this.#version,
      region: this.#region,
      atRest: { kind: rootKey.kind, description: rootKey.description, ...health },
    };
  }

  put(identity: ClientIdentity, request: PutSecretRequest): Promise<{ version: number; updatedAt: string }> {
    return this.#operation(identity, 'put', async (who, scope, at) => {
      const candidate = (request ?? {}) as { keyId?: unknown };
      if (isKeyId(candidate.keyId)) scope.keyIds = [candidate.keyId];
      const checked = validatePutRequest(request);
      const vault = await this.#vaults.ensure(who);
      scope.vaultId = vault.vaultId;
      const { keyId } = checked;
      return this.#storage.upsertSecret(
        {
          vaultId: vault.vaultId,
          keyId,
          meta: sealMeta(vault.dataKey, vault.vaultId, keyId, checked),
          value: sealValue(vault.dataKey, vault.vaultId, keyId, checked.ciphertext),
          at,
        },
        { at, actor: who.subject, op: 'put' },
      );
    });
  }

  get(identity: ClientIdentity, keyIds: readonly string[]): Promise<(StoredSecret | null)[]> {
    return this.#operation(identity, 'get', async (who, scope, at) => {
      const ids = validateKeyIds(keyIds);
      const distinct = [...new Set(ids)];
      scope.keyIds = distinct;
      const vault = await this.#vaults.find(who);
      const found = new Map<string, StoredSecret>();
      if (vault) {
        scope.vaultId = vault.vaultId;
        await this.#storage.recordReads(vault.vaultId, distinct);
        for (const [keyId, record] of await this.#storage.getSecrets(vault.vaultId, distinct)) {
          found.set(keyId, {
            keyId,
            ...openMeta(vault.dataKey, vault.vaultId, keyId, record.meta),
            version: record.version,
            updatedAt: record.updatedAt,
            reads: record.reads,
            ciphertext: openValue(vault.dataKey, vault.vaultId, keyId, record.value),
          });
        }
      }
      await this.#storage.appendAudit(
        distinct.map((keyId) => this.#entry(at, who.subject, 'get', vault?.vaultId, keyId, found.has(keyId) ? 'ok' : 'not-found')),
      );
      return ids.map((keyId) => {
        const secret = found.get(keyId);
        return secret ? { ...secret } : null;
      });
    });
  }

  list(identity: ClientIdentity): Promise<StoredSecretMeta[]> {
    return this.#operation(identity, 'list', async (who, scope, at) => {
      const vault = await this.#vaults.find(who);
      const listed: StoredSecretMeta[] = [];
      if (vault) {
        scope.vaultId = vault.vaultId;
        for (const record of await this.#storage.listSecrets(vault.vaultId)) {
          listed.push({
            keyId: record.keyId,
            ...openMeta(vault.dataKey, vault.vaultId, record.keyId, record.meta),
            version: record.version,
            updatedAt: record.updatedAt,
            reads: record.reads,
          });
        }
      }
      await this.#storage.appendAudit(this.#entry(at, who.subject, 'list', vault?.vaultId, undefined, 'ok'));
      return listed;
    });
  }

  delete(identity: ClientIdentity, keyId: string): Promise<boolean> {
    return this.#operation(identity, 'delete', async (who, scope, at) => {
      const checked = validateKeyId(keyId);
      scope.keyIds = [checked];
      const vault = await this.#vaults.find(who);
      if (!vault) {
        await this.#storage.appendAudit(this.#entry(at, who.subject, 'delete', undefined, checked, 'not-found'));
        return false;
      }
      scope.vaultId = vault.vaultId;
      return this.#storage.deleteSecret(vault.vaultId, checked, { at, actor: who.subject, op: 'delete' });
    });
  }

  /**
   * A site's usage report (which of its code read which keys, counted by the CMS): one audit
   * row per record, op `usage`, the actor the certificate subject "via" the caller, the result
   * `reads=N,denied=N,last=<time>`. The service cannot check the counts (reads of cached
   * ciphertexts never reach it); it records what the site says, with who said it.
   */
  recordUsage(identity: ClientIdentity, records: readonly UsageRecord[]): Promise<number> {
    return this.#operation(identity, 'usage', async (who, scope, at) => {
      const checked = validateUsageRecords(records);
      scope.keyIds = [...new Set(checked.map((record) => record.keyId))];
      const vault = await this.#vaults.find(who);
      scope.vaultId = vault?.vaultId;
      await this.#storage.appendAudit(
        checked.map((record) =>
          this.#entry(
            at,
            `${who.subject} via ${record.caller}`,
            'usage',
            vault?.vaultId,
            record.keyId,
            `reads=${record.reads},denied=${record.denied},last=${record.lastReadAt}`,
          ),
        ),
      );
      return checked.length;
    });
  }

  /** Refuses new calls, lets running ones finish, then forgets data keys and closes storage and root key. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.allSettled([...this.#inFlight]);
    this.#vaults.clear();
    const results = await Promise.allSettled([this.#storage.close(), this.#rootKeys.close()]);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw asKeybridgeError(failed.reason);
  }

  #assertOpen(): void {
    if (this.#closed) throw new KeybridgeError('keyservice-unavailable', 'the key service was closed');
  }

  /** Runs one audited operation: on failure, a row with the problem type, then the error. */
  async #operation<T>(
    identity: ClientIdentity,
    op: string,
    body: (who: ClientIdentity, scope: AuditScope, at: string) => Promise<T>,
  ): Promise<T> {
    this.#assertOpen();
    const at = this.#now().toISOString();
    const scope: AuditScope = { keyIds: [] };
    const run = (async () => body(validateIdentity(identity), scope, at))();
    this.#inFlight.add(run);
    try {
      return await run;
    } catch (error) {
      const problem = asKeybridgeError(error);
      const actor = typeof identity?.subject === 'string' && identity.subject ? identity.subject : '(invalid identity)';
      const keyIds = scope.keyIds.length ? scope.keyIds : [undefined];
      await this.#storage
        .appendAudit(keyIds.map((keyId) => this.#entry(at, actor, op, scope.vaultId, keyId, problem.type)))
        .catch(() => undefined);
      throw problem;
    } finally {
      this.#inFlight.delete(run);
    }
  }

  #entry(at: string, actor: string, op: string, vaultId: string | undefined, keyId: string | undefined, result: string): AuditEntry {
    const entry: AuditEntry = { at, actor, op, result };
    if (vaultId !== undefined) entry.vaultId = vaultId;
    if (keyId !== undefined) entry.keyId = keyId;
    return entry;
  }
}
