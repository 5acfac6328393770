import { KeybridgeError } from '../errors.ts';
import type { ClientIdentity, KeyServiceClient } from '../protocol/keyservice.ts';
import type { KeyService } from './key-service.ts';

/**
 * The `KeyServiceClient` that `keybridge up` hands its agent until mutual TLS exists.
 * It behaves like a remote client so nothing comes to rely on sharing memory:
 *
 * - requests and results cross a JSON round trip (as they would on the wire): callers get
 *   fresh copies, and mutating them afterwards changes nothing on either side;
 * - errors arrive as a remote client would rebuild them from problem+json (type, detail,
 *   field; no cause, no stack); anything the server answers with 503 (storage failure,
 *   root key unavailable, closed service) becomes `keyservice-unavailable`, which is what
 *   makes an agent fail over or serve from its stale cache;
 * - the identity is fixed at binding time, as a client certificate would be.
 */
export function bindInProcess(service: KeyService, identity: ClientIdentity): KeyServiceClient {
  const who: ClientIdentity = { siteId: identity.siteId, environment: identity.environment, subject: identity.subject };

  async function call<T>(operation: () => Promise<T>): Promise<T> {
    if (service.closed) throw new KeybridgeError('keyservice-unavailable', 'the key service was closed');
    let result: T;
    try {
      result = await operation();
    } catch (error) {
      throw asRemoteError(error);
    }
    return overTheWire(result);
  }

  return {
    info: () => call(() => service.info()),
    put: (request) => call(() => service.put(who, overTheWire(request))),
    get: (keyIds) => call(() => service.get(who, overTheWire(keyIds))),
    list: () => call(() => service.list(who)),
    delete: (keyId) => call(() => service.delete(who, overTheWire(keyId))),
  };
}

/** A JSON round trip: what a value looks like after crossing HTTP. */
function overTheWire<T>(value: T): T {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    throw new KeybridgeError('bad-request', 'the request cannot be encoded as JSON');
  }
  return (text === undefined ? undefined : JSON.parse(text)) as T;
}

function asRemoteError(error: unknown): KeybridgeError {
  if (!(error instanceof KeybridgeError)) return new KeybridgeError('internal');
  if (error.status === 503) {
    if (error.type === 'keyservice-unavailable') return new KeybridgeError('keyservice-unavailable', error.detail);
    return new KeybridgeError('keyservice-unavailable', error.detail ? `${error.type}: ${error.detail}` : error.type);
  }
  return new KeybridgeError(error.type, error.detail, { field: error.field });
}
