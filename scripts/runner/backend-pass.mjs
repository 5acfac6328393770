// Pass: the files whose results depend on the key-service backend (every file that starts a key
// service with startTestKeyServer: environments, certificates, failover, …) again on
// KEYBRIDGE_TEST_BACKEND=postgres-softhsm: two key-service nodes on a real PostgreSQL, sealed by a
// real SoftHSM token (sidecar/test-helpers/backend.ts).
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { selected } from './context.mjs';
import { findFiles } from './files.mjs';
import { runVitest } from './vitest.mjs';

/** Stops every PostgreSQL a worker may have left behind (a crashed worker skips its afterAll). */
function sweep(root, scratch) {
  for (const entry of existsSync(scratch) ? readdirSync(scratch) : []) {
    const pg = join(scratch, entry, 'pg');
    if (existsSync(join(pg, 'data', 'postmaster.pid')))
      spawnSync('bash', [join(root, 'fixtures/postgres/down.sh'), pg], { stdio: 'ignore' });
  }
  rmSync(scratch, { recursive: true, force: true });
}

export const backendPass = {
  title: 'backend-dependent files, KEYBRIDGE_TEST_BACKEND=postgres-softhsm (PostgreSQL, 2 nodes, SoftHSM)',
  run(context, name) {
    const files = ['sidecar', 'docker']
      .flatMap((dir) => findFiles(context.root, join(context.root, dir), '.test.ts', /\bstartTestKeyServer\b/))
      .filter((file) => selected(context, file));
    if (files.length === 0) return console.log('    (no backend-dependent test file matches the arguments)\n');
    for (const file of files) console.log(`    ${file}`);
    console.log('');
    const scratch = mkdtempSync(join(tmpdir(), 'kb-matrix-'));
    chmodSync(scratch, 0o711); // PostgreSQL runs as `postgres` when the tests run as root
    try {
      // Positional filters were applied above: the pass gets the flags and the file list.
      runVitest(context, {
        label: `${name} (postgres-softhsm)`,
        reportName: 'vitest-postgres-softhsm.json',
        args: [...context.flags, ...files],
        env: { KEYBRIDGE_TEST_BACKEND: 'postgres-softhsm', KEYBRIDGE_TEST_SCRATCH: scratch },
      });
    } finally {
      sweep(context.root, scratch);
    }
  },
};
