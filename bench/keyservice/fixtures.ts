import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile, execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startPostgres, type PostgresServer } from '../../fixtures/postgres/postgres.ts';
import { startSoftHsm, type SoftHsm } from '../../fixtures/softhsm/softhsm.ts';
import { createCertificateAuthority, type CertificateAuthority } from '../../sidecar/src/pki/index.ts';
import type { Cleanup } from './cleanup.ts';

const run = promisify(execFile);
const POSTGRES_DOWN = fileURLToPath(new URL('../../fixtures/postgres/down.sh', import.meta.url));
const SOFTHSM_DOWN = fileURLToPath(new URL('../../fixtures/softhsm/down.sh', import.meta.url));

/**
 * The bench's throwaway world: one temp dir, and in it (started on first use, each once)
 * a SoftHSM token, a PostgreSQL server and a certificate authority. All of it is undone by
 * `cleanup`: PostgreSQL stopped, the token removed (down.sh), the temp dir deleted.
 */
export class Fixtures {
  readonly root: string;
  #hsm?: Promise<SoftHsm>;
  #postgres?: Promise<PostgresServer>;
  #ca?: CertificateAuthority;
  #databases = 0;

  constructor(private readonly cleanup: Cleanup) {
    this.root = mkdtempSync(join(tmpdir(), 'kb-bench-ks-'));
    // PostgreSQL runs as the `postgres` user when the bench runs as root: it must reach its dir.
    chmodSync(this.root, 0o711);
    // Last resort if the process dies before the cleanup ran (an uncaught error in a driver):
    // 'exit' handlers may only do synchronous work, so the scripts run with execFileSync.
    const onExit = (): void => this.#removeNow();
    process.on('exit', onExit);
    cleanup.add(`removing ${this.root}`, () => {
      process.removeListener('exit', onExit);
      rmSync(this.root, { recursive: true, force: true });
    });
  }

  #removeNow(): void {
    for (const [script, dir] of [
      [POSTGRES_DOWN, join(this.root, 'pg')],
      [SOFTHSM_DOWN, join(this.root, 'hsm')],
    ]) {
      try {
        if (existsSync(dir)) execFileSync('bash', [script, dir], { stdio: 'ignore', timeout: 60_000 });
      } catch {
        // Best effort: the process is exiting.
      }
    }
    rmSync(this.root, { recursive: true, force: true });
  }

  /** The SoftHSM token; SOFTHSM2_CONF is set for this process before any root key opens. */
  hsm(): Promise<SoftHsm> {
    this.#hsm ??= (async () => {
      const dir = join(this.root, 'hsm');
      // Registered before starting: a half-made token is removed too.
      this.cleanup.add('SoftHSM token (down.sh)', async () => {
        const hsm = await this.#hsm?.catch(() => undefined);
        if (hsm) await hsm.down();
      });
      const hsm = await startSoftHsm(dir, 'kb-bench');
      process.env.SOFTHSM2_CONF = hsm.conf;
      return hsm;
    })();
    return this.#hsm;
  }

  postgres(): Promise<PostgresServer> {
    this.#postgres ??= (async () => {
      const dir = join(this.root, 'pg');
      // Registered before starting: down.sh also stops a server whose start failed half-way.
      this.cleanup.add('PostgreSQL (down.sh)', async () => {
        await run('bash', [POSTGRES_DOWN, dir], { timeout: 120_000 });
      });
      return startPostgres(dir);
    })();
    return this.#postgres;
  }

  /** A fresh, empty database owned by the application role; its URL. */
  async newDatabase(purpose: string): Promise<string> {
    const server = await this.postgres();
    const name = `kb_bench_${purpose.replace(/[^a-z0-9]/g, '_')}_${++this.#databases}`;
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: server.url });
    client.on('error', () => undefined);
    await client.connect();
    try {
      // The role may create databases (up.sh): it owns what it creates. `name` is ours, not input.
      await client.query(`CREATE DATABASE ${name}`);
    } finally {
      await client.end().catch(() => undefined);
    }
    const url = new URL(server.url);
    url.pathname = `/${name}`;
    return url.toString();
  }

  /** One RSA-3072 CA for the whole run (the key service's, and the one certificates are timed against). */
  ca(): CertificateAuthority {
    this.#ca ??= createCertificateAuthority({ commonName: 'keybridge bench CA', validityDays: 3650 });
    return this.#ca;
  }
}
