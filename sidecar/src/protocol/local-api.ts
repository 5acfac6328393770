// GENERATED from shims/spec.yaml by shims/generator/emit-ts.ts: do not edit. After a change to the
// spec: UPDATE_GOLDEN=1 npx vitest run shims/generator/generator.test.ts (it fails while this is stale).

/** How requests are authenticated without sending the token (spec.yaml `auth`). */
export const LOCAL_API_AUTH = {
  scheme: 'Keybridge',
  proofHeader: 'Keybridge-Proof',
  label: 'keybridge-proof-1',
  maxAgeMs: 30000,
  maxAheadMs: 5000,
} as const;

/** What the agent accepts (spec.yaml `limits`). */
export const LIMITS = {
  bodyBytes: 262144,
  transferBodyBytes: 16777216,
  fetchNames: 100,
  valueBytes: 65536,
  generateMinBits: 64,
  generateMaxBits: 4096,
  transferItems: 500,
  passphraseMinChars: 12,
} as const;

export interface LocalOperation {
  method: 'GET' | 'POST';
  path: string;
  /** false only for health: every other call needs a proven client. */
  auth: boolean;
  /** May open a connection before the agent has proven it holds the token. */
  beforeAgentProof: boolean;
  maxBodyBytes: number;
  /** The clients' timeout for this call, when it is not the short default. */
  timeoutMs?: number;
}

/** Every operation of the local API, by its spec id. */
export const LOCAL_OPERATIONS = {
  health: {
    method: 'GET',
    path: '/v1/health',
    auth: false,
    beforeAgentProof: true,
    maxBodyBytes: 262144,
  },
  status: {
    method: 'GET',
    path: '/v1/status',
    auth: true,
    beforeAgentProof: true,
    maxBodyBytes: 262144,
  },
  'keys.list': {
    method: 'GET',
    path: '/v1/keys',
    auth: true,
    beforeAgentProof: true,
    maxBodyBytes: 262144,
  },
  'keys.set': {
    method: 'POST',
    path: '/v1/keys/set',
    auth: true,
    beforeAgentProof: false,
    maxBodyBytes: 262144,
  },
  'keys.generate': {
    method: 'POST',
    path: '/v1/keys/generate',
    auth: true,
    beforeAgentProof: false,
    maxBodyBytes: 262144,
  },
  'keys.get': {
    method: 'POST',
    path: '/v1/keys/get',
    auth: true,
    beforeAgentProof: false,
    maxBodyBytes: 262144,
  },
  'keys.fetch': {
    method: 'POST',
    path: '/v1/keys/fetch',
    auth: true,
    beforeAgentProof: true,
    maxBodyBytes: 262144,
  },
  'usage.report': {
    method: 'POST',
    path: '/v1/usage/report',
    auth: true,
    beforeAgentProof: false,
    maxBodyBytes: 262144,
  },
  'keys.rotate': {
    method: 'POST',
    path: '/v1/keys/rotate',
    auth: true,
    beforeAgentProof: false,
    maxBodyBytes: 262144,
  },
  'keys.delete': {
    method: 'POST',
    path: '/v1/keys/delete',
    auth: true,
    beforeAgentProof: false,
    maxBodyBytes: 262144,
  },
  'import.lockr': {
    method: 'POST',
    path: '/v1/import/lockr',
    auth: true,
    beforeAgentProof: false,
    maxBodyBytes: 16777216,
    timeoutMs: 30000,
  },
  export: {
    method: 'POST',
    path: '/v1/export',
    auth: true,
    beforeAgentProof: false,
    maxBodyBytes: 16777216,
    timeoutMs: 30000,
  },
  'import.bundle': {
    method: 'POST',
    path: '/v1/import/bundle',
    auth: true,
    beforeAgentProof: false,
    maxBodyBytes: 16777216,
    timeoutMs: 30000,
  },
  register: {
    method: 'POST',
    path: '/v1/register',
    auth: true,
    beforeAgentProof: false,
    maxBodyBytes: 262144,
    timeoutMs: 30000,
  },
  'certificates.create': {
    method: 'POST',
    path: '/v1/certificates/create',
    auth: true,
    beforeAgentProof: false,
    maxBodyBytes: 262144,
    timeoutMs: 30000,
  },
  'certificates.renew': {
    method: 'POST',
    path: '/v1/certificates/renew',
    auth: true,
    beforeAgentProof: false,
    maxBodyBytes: 262144,
    timeoutMs: 30000,
  },
  production: {
    method: 'POST',
    path: '/v1/production',
    auth: true,
    beforeAgentProof: false,
    maxBodyBytes: 262144,
    timeoutMs: 30000,
  },
  'certificates.revoke': {
    method: 'POST',
    path: '/v1/certificates/revoke',
    auth: true,
    beforeAgentProof: false,
    maxBodyBytes: 262144,
    timeoutMs: 30000,
  },
  'certificates.reissue': {
    method: 'POST',
    path: '/v1/certificates/reissue',
    auth: true,
    beforeAgentProof: false,
    maxBodyBytes: 262144,
    timeoutMs: 30000,
  },
} as const satisfies Record<string, LocalOperation>;

export type LocalOperationId = keyof typeof LOCAL_OPERATIONS;
