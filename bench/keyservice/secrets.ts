import { generateKek, kekId, nameKey, opaqueKeyId, randomKey, sealText, utf8, wrapValue } from '../../sidecar/src/crypto/index.ts';
import type { ClientIdentity, Environment, PutSecretRequest } from '../../sidecar/src/protocol/keyservice.ts';

/**
 * A site's secrets as an agent would send them, made on demand from an index: secret `i`
 * is named `bench_secret_<i>`, its key id is the real opaque id (HMAC of the site secret),
 * its name is sealed under the site's name key, and its value is a real `kb1.` ciphertext of
 * a 40-byte API token under the site's KEK (95 characters, the size WordPress secrets have).
 * Nothing is kept per secret, so a million of them cost no memory: key ids are recomputed.
 *
 * `bulkRequest(i)` is the same request with the (agent-side) sealed name and kb1 value borrowed
 * from the first `PAYLOAD_POOL` secrets: byte for byte the same sizes, and the key service never
 * opens them (it only seals and opens its own record around them, per row, by key id), so a
 * bulk load spends its time on the key service's sealing, not on the agent's. For i below the
 * pool size the payload is the secret's own.
 */
export const PAYLOAD_POOL = 1024;

export class BenchSite {
  readonly identity: ClientIdentity;
  readonly #siteSecret = randomKey(32);
  readonly #nameKey = nameKey(this.#siteSecret);
  readonly #kek = generateKek();
  readonly #kekId = kekId(this.#kek);
  #pool?: PutSecretRequest[];

  constructor(siteId: string, environment: Environment, subject = `CN=${siteId},OU=${environment},bench`) {
    this.identity = { siteId, environment, subject };
  }

  keyId(i: number): string {
    return opaqueKeyId(this.#siteSecret, this.identity.environment, name(i));
  }

  request(i: number): PutSecretRequest {
    const keyId = this.keyId(i);
    return {
      keyId,
      sealedName: sealText(this.#nameKey, name(i), 'name', keyId),
      sealedLabel: '',
      kekId: this.#kekId,
      ciphertext: wrapValue(this.#kek, utf8(token(i)), { siteId: this.identity.siteId, environment: this.identity.environment, keyId }),
    };
  }

  bulkRequest(i: number): PutSecretRequest {
    this.#pool ??= Array.from({ length: PAYLOAD_POOL }, (_, j) => this.request(j));
    return { ...this.#pool[i % PAYLOAD_POOL], keyId: i < PAYLOAD_POOL ? this.#pool[i].keyId : this.keyId(i) };
  }

  /** `count` key ids drawn uniformly from secrets 0 … total-1 (precomputed: no hashing on the clock). */
  randomKeyIds(total: number, count: number): string[] {
    return Array.from({ length: count }, () => this.keyId(Math.floor(Math.random() * total)));
  }
}

function name(i: number): string {
  return `bench_secret_${i}`;
}

/** 40 characters, like a payment provider's live API key. */
function token(i: number): string {
  return `sk_live_${i.toString(36).padStart(8, '0')}${'x'.repeat(24)}`;
}
