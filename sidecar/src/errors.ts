/**
 * The problem types: one stable `type` per failure, shared by every boundary
 * (agent HTTP API, key service, CLI exit messages, later the PHP shims).
 *
 * Messages never contain a secret value, a wrapping key or a site secret. They may
 * name a key (names are not secrets: they show in the admin UI) but only after
 * `describeName()` has made them safe to print.
 */

export const PROBLEMS = {
  'bad-request': { status: 400, title: 'The request is malformed' },
  'body-too-large': { status: 413, title: 'The request body is too large' },
  'unsupported-media-type': { status: 415, title: 'The request body must be application/json' },
  'invalid-field': { status: 422, title: 'A request field is invalid' },
  'invalid-name': { status: 422, title: 'The key name is invalid' },
  'name-confusable': { status: 409, title: 'Another key of this vault has a name that looks the same: choose another name' },
  'invalid-value': { status: 422, title: 'The key value is invalid' },
  'invalid-wrapping-key': { status: 422, title: 'The wrapping key is not a valid kb1 key string' },
  unauthorized: { status: 401, title: 'The request does not prove that it holds the agent token' },
  'host-not-allowed': { status: 403, title: 'The Host header must name this machine by a loopback name or address (DNS rebinding guard)' },
  'not-found': { status: 404, title: 'No such route' },
  'method-not-allowed': { status: 405, title: 'Method not allowed' },
  'key-not-found': { status: 404, title: 'No key with this name in this environment' },
  'kek-mismatch': {
    status: 409,
    title: 'The value was set under a different wrapping key: set this key again in this environment',
  },
  'ciphertext-invalid': { status: 422, title: 'The ciphertext is truncated, malformed or fails authentication' },
  'unsupported-legacy-format': { status: 422, title: 'unsupported legacy format' },
  'lockr-mac-mismatch': { status: 422, title: 'The Lockr ciphertext does not authenticate under its wrapping key' },
  'bundle-invalid': { status: 422, title: 'The export bundle is malformed' },
  'bundle-decrypt-failed': { status: 422, title: 'The export bundle does not open with this passphrase' },
  'keyservice-unavailable': { status: 503, title: 'The key service is unreachable' },
  'storage-failure': { status: 503, title: 'The key service could not write to its storage' },
  'root-key-unavailable': { status: 503, title: 'The key service root key is unavailable or does not open this data' },
  'storage-corrupt': {
    status: 500,
    title: 'A stored record fails authentication: the key service storage was altered or damaged',
  },
  'config-invalid': { status: 500, title: 'The configuration is invalid' },
  'certificate-invalid': {
    status: 401,
    title: 'The client certificate is missing, expired, not yet valid or not issued by this key service',
  },
  'certificate-revoked': { status: 401, title: 'The client certificate has been revoked' },
  'csr-invalid': { status: 422, title: 'The certificate signing request is malformed or its signature does not verify' },
  'production-request-invalid': {
    status: 403,
    title: 'The move-to-production request is not signed by a valid development certificate of this site',
  },
  'request-replayed': { status: 409, title: 'This request was already used' },
  'certificate-forbidden': {
    status: 403,
    title:
      'This certificate may not do this: it acts only within its own environment, and only a production certificate adds production hosts',
  },
  'rate-limited': { status: 429, title: 'Too many attempts: try again after the number of seconds in Retry-After' },
  'account-exists': { status: 409, title: 'An account with this email exists: give its password' },
  'credentials-invalid': { status: 401, title: 'The email or password is wrong' },
  'not-registered': { status: 409, title: 'This site is not registered with a key service yet: run keybridge register' },
  'already-registered': { status: 409, title: 'This certificate directory already belongs to a registered site' },
  internal: { status: 500, title: 'Internal error' },
} as const;

export type ProblemType = keyof typeof PROBLEMS;

export interface ProblemDetails {
  type: ProblemType;
  title: string;
  status: number;
  detail?: string;
  /** The request field at fault, e.g. `name` or `items[3].ciphertext`. */
  field?: string;
}

export class KeybridgeError extends Error {
  readonly type: ProblemType;
  readonly status: number;
  readonly detail?: string;
  readonly field?: string;
  /** `rate-limited`: whole seconds until a retry can succeed (the Retry-After header). */
  readonly retryAfterSeconds?: number;

  constructor(type: ProblemType, detail?: string, options: { field?: string; cause?: unknown; retryAfterSeconds?: number } = {}) {
    super(detail ? `${PROBLEMS[type].title}: ${detail}` : PROBLEMS[type].title, { cause: options.cause });
    this.name = 'KeybridgeError';
    this.type = type;
    this.status = PROBLEMS[type].status;
    this.detail = detail;
    this.field = options.field;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  toProblem(): ProblemDetails {
    const problem: ProblemDetails = { type: this.type, title: PROBLEMS[this.type].title, status: this.status };
    if (this.detail !== undefined) problem.detail = this.detail;
    if (this.field !== undefined) problem.field = this.field;
    return problem;
  }
}

export function isProblemType(value: unknown): value is ProblemType {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(PROBLEMS, value);
}

/** Any thrown value as a KeybridgeError; unknown errors become `internal` without their message. */
export function asKeybridgeError(error: unknown): KeybridgeError {
  if (error instanceof KeybridgeError) return error;
  return new KeybridgeError('internal', undefined, { cause: error });
}

/**
 * A key name made safe for an error message or a log line: control characters escaped,
 * cut to 80 characters. Names are not secret, but they are user input.
 */
export function describeName(name: string): string {
  const escaped = JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}…` : name);
  return escaped;
}
