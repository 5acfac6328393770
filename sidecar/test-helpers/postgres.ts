import { chmodSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll } from 'vitest';
import { startPostgres, type PostgresServer } from '../../fixtures/postgres/postgres.ts';

/**
 * One real PostgreSQL (fixtures/postgres) for the test file that calls this: started on
 * first use under `base`, stopped and `base` removed after the file. No skip: if PostgreSQL
 * cannot start, the file fails. Fresh databases and schemas keep tests independent.
 */
export interface FilePostgres {
  server(): Promise<PostgresServer>;
  /** A new, empty database (CREATE / DROP DATABASE cost a checkpoint each: use sparingly). */
  freshDatabase(): Promise<FreshPlace>;
  /** A new, empty schema, selected by `search_path` in the URL, as a deployment may do. */
  freshSchema(): Promise<FreshPlace>;
}

export interface FreshPlace {
  name: string;
  url: string;
  drop(): Promise<void>;
}

export function postgresForTestFile(base: string): FilePostgres {
  chmodSync(base, 0o711); // the server runs as `postgres` when the tests run as root
  let started: Promise<PostgresServer> | undefined;
  let created = 0;
  const uniqueName = (): string => `kb_test_${process.pid}_${(created += 1)}`;
  const server = (): Promise<PostgresServer> => (started ??= startPostgres(join(base, 'pg')));
  afterAll(async () => {
    await (await started?.catch(() => undefined))?.stop();
    rmSync(base, { recursive: true, force: true });
  });
  return {
    server,
    async freshDatabase() {
      const { url } = await server();
      const name = uniqueName();
      await sql(url, `CREATE DATABASE ${name}`);
      const parsed = new URL(url);
      parsed.pathname = `/${name}`;
      return { name, url: parsed.toString(), drop: async () => void (await sql(url, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)) };
    },
    async freshSchema() {
      const { url } = await server();
      const name = uniqueName();
      await sql(url, `CREATE SCHEMA ${name}`);
      const parsed = new URL(url);
      parsed.searchParams.set('options', `-c search_path=${name}`);
      return { name, url: parsed.toString(), drop: async () => void (await sql(url, `DROP SCHEMA IF EXISTS ${name} CASCADE`)) };
    },
  };
}

/** One statement on its own connection, for test set-up and inspection. */
export async function sql(url: string, text: string, params: unknown[] = []): Promise<pg.QueryResultRow[]> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return (await client.query(text, params)).rows;
  } finally {
    await client.end().catch(() => undefined);
  }
}
