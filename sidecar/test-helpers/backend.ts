import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { startPostgres, type PostgresServer } from '../../fixtures/postgres/postgres.ts';
import { startSoftHsm, type SoftHsm } from '../../fixtures/softhsm/softhsm.ts';

/**
 * The key-service backend the tests run against, chosen by KEYBRIDGE_TEST_BACKEND:
 * - `sqlite-software` (default): SQLite file and software root key in the server's home;
 * - `postgres-softhsm`: a real PostgreSQL and a real SoftHSM token, one of each per vitest
 *   worker process, started on first use and stopped after the test file (every test file
 *   runs in its own forked worker: see vitest.config.ts).
 * scripts/test-all.mjs runs the backend-dependent files a second time with the second one.
 */
export type TestBackend = 'sqlite-software' | 'postgres-softhsm';

export const TEST_BACKENDS: readonly TestBackend[] = ['sqlite-software', 'postgres-softhsm'];

export const TEST_BACKEND: TestBackend = (() => {
  const value = process.env.KEYBRIDGE_TEST_BACKEND || 'sqlite-software';
  if (!(TEST_BACKENDS as readonly string[]).includes(value)) {
    throw new Error(`KEYBRIDGE_TEST_BACKEND must be one of ${TEST_BACKENDS.join(', ')}, not "${value}"`);
  }
  return value as TestBackend;
})();

export const MULTI_NODE_BACKEND = TEST_BACKEND === 'postgres-softhsm';

export interface WorkerBackend {
  postgres: PostgresServer;
  hsm: SoftHsm;
}

let worker: Promise<WorkerBackend> | undefined;
let scratch: string | undefined;

if (TEST_BACKEND === 'postgres-softhsm') {
  // Registered while the test file imports this module, so it runs after the file's own
  // afterAll hooks (hooks run as a stack). test-all.mjs also sweeps leftovers.
  afterAll(async () => {
    const running = await worker?.catch(() => undefined);
    worker = undefined;
    await running?.postgres.stop().catch(() => undefined);
    await running?.hsm.down().catch(() => undefined);
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });
}

/** This worker's PostgreSQL and SoftHSM (postgres-softhsm only), started on first call. */
export function workerBackend(): Promise<WorkerBackend> {
  if (TEST_BACKEND !== 'postgres-softhsm') throw new Error('workerBackend() needs KEYBRIDGE_TEST_BACKEND=postgres-softhsm');
  worker ??= (async () => {
    // KEYBRIDGE_TEST_SCRATCH (set by test-all.mjs) collects every worker's servers for a final sweep.
    const root = process.env.KEYBRIDGE_TEST_SCRATCH || tmpdir();
    mkdirSync(root, { recursive: true });
    scratch = mkdtempSync(join(root, 'kb-backend-'));
    chmodSync(scratch, 0o711); // PostgreSQL runs as `postgres` when the tests run as root
    const [postgres, hsm] = await Promise.all([startPostgres(join(scratch, 'pg')), startSoftHsm(join(scratch, 'hsm'))]);
    // SoftHSM reads its configuration in C_Initialize: set before any root key opens the module.
    process.env.SOFTHSM2_CONF = hsm.conf;
    return { postgres, hsm };
  })();
  return worker;
}

let databases = 0;

/** A new, empty database owned by the application role; returns the application's URL for it. */
export async function createTestDatabase(): Promise<string> {
  const { postgres } = await workerBackend();
  const app = new URL(postgres.url);
  const name = `kb_t${process.pid}_${++databases}`;
  const { default: pg } = await import('pg');
  const admin = new pg.Client({ connectionString: postgres.adminUrl });
  admin.on('error', () => undefined);
  await admin.connect();
  try {
    // Identifiers are generated here (role from up.sh: kb_<hex>), never from input.
    await admin.query(`CREATE DATABASE ${name} OWNER ${decodeURIComponent(app.username)}`);
  } finally {
    await admin.end().catch(() => undefined);
  }
  app.pathname = `/${name}`;
  return app.toString();
}
