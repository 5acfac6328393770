import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbedded, type EmbeddedAgent } from '../../test-helpers/embedded.ts';

/**
 * usage.report through a real `keybridge up` (agent → key service over mutual TLS → SQLite):
 * the CMS's batch of who read which key ends up in the key service's audit under the key's
 * opaque id, "via" the caller, with the counts; the name never reaches the key service, and
 * a bad batch is refused whole with the field named.
 */
let agent: EmbeddedAgent;

beforeAll(async () => {
  agent = await startEmbedded();
  const stored = await agent.call('POST', '/v1/keys/set', { name: 'usage/smtp-password', value: 's3cret' });
  expect(stored.status).toBe(200);
});
afterAll(async () => {
  await agent?.stop();
});

interface AuditRow {
  actor: string;
  op: string;
  key_id: string | null;
  vault_id: string | null;
  result: string;
}

/** The key service's audit rows of op `usage`, read from its SQLite file (read-only). */
function usageRows(): AuditRow[] {
  const db = new Database(join(agent.home, 'server', 'keybridge.db'), { readonly: true, fileMustExist: true });
  try {
    return db.prepare("SELECT actor, op, key_id, vault_id, result FROM audit WHERE op = 'usage' ORDER BY seq").all() as AuditRow[];
  } finally {
    db.close();
  }
}

const entry = (overrides: Record<string, unknown> = {}) => ({
  name: 'usage/smtp-password',
  caller: 'plugin:wp-mail-smtp',
  reads: 17,
  denied: 0,
  last_read_at: '2026-03-01T10:00:00Z',
  ...overrides,
});

describe('usage.report', () => {
  it('records each entry in the key service audit under the opaque key id, never the name', async () => {
    const answer = await agent.call('POST', '/v1/usage/report', {
      entries: [entry(), entry({ caller: 'theme:twentytwentythree', reads: 0, denied: 2, last_read_at: '2026-03-01T10:00:05Z' })],
    });
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({ recorded: 2 });
    expect(answer.headers.get('cache-control')).toBe('no-store');
    const rows = usageRows();
    expect(rows).toHaveLength(2);
    expect(rows[0].actor).toMatch(/ via plugin:wp-mail-smtp$/);
    expect(rows[0].result).toBe('reads=17,denied=0,last=2026-03-01T10:00:00Z');
    expect(rows[1].actor).toMatch(/ via theme:twentytwentythree$/);
    expect(rows[1].result).toBe('reads=0,denied=2,last=2026-03-01T10:00:05Z');
    expect(rows[0].key_id).toMatch(/^[0-9a-f]{64}$/);
    expect(rows[0].vault_id).not.toBeNull();
    expect(JSON.stringify(rows)).not.toContain('usage/smtp-password');
  });

  it('refuses a bad batch whole, naming the field, and records nothing of it', async () => {
    const before = usageRows().length;
    const cases: [unknown, string][] = [
      [[entry(), entry({ caller: 'plugin:../../etc' })], 'entries[1].caller'],
      [[entry({ caller: 'somebody' })], 'entries[0].caller'],
      [[entry({ reads: -1 })], 'entries[0].reads'],
      [[entry({ reads: 1.5 })], 'entries[0].reads'],
      [[entry({ last_read_at: 'yesterday' })], 'entries[0].last_read_at'],
      [[entry({ extra: true })], 'entries[0].extra'],
      [[], 'entries'],
      [Array.from({ length: 501 }, () => entry()), 'entries'],
    ];
    for (const [entries, field] of cases) {
      const answer = await agent.call('POST', '/v1/usage/report', { entries });
      expect({ field, status: answer.status, type: answer.json?.type, at: answer.json?.field }).toEqual({
        field,
        status: 422,
        type: 'invalid-field',
        at: field,
      });
    }
    const badName = await agent.call('POST', '/v1/usage/report', { entries: [entry({ name: 'bad name\u200b' })] });
    expect(badName.status).toBeGreaterThanOrEqual(400);
    expect(badName.json?.type).toBe('invalid-name');
    expect(usageRows().length).toBe(before);
  });

  it('needs the token like every call but health', async () => {
    const response = await fetch(`${agent.url}/v1/usage/report`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ entries: [entry()] }),
    });
    expect(response.status).toBe(401);
  });
});
