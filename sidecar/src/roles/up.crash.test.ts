import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { agentCaller } from '../../test-helpers/agent-caller.ts';
import { startUpProcess } from '../../test-helpers/up-process.ts';

/**
 * kill -9 of `keybridge up` in the middle of 1,000 writes: every write the agent
 * acknowledged is there after a restart, with the value that was acknowledged, and the
 * database is intact. (Writes in flight at the kill may or may not have landed.)
 */
const home = mkdtempSync(join(tmpdir(), 'kb-crash-'));
afterAll(() => rmSync(home, { recursive: true, force: true }));

const TOTAL = 1000;
const CONCURRENCY = 16;
const KILL_AFTER = 400;

describe('crash during writes', () => {
  it('keeps every acknowledged write across a kill -9', async () => {
    const first = await startUpProcess(home);
    const firstCaller = agentCaller(first.url, { tokenFile: join(home, 'agent.token') });
    const acknowledged = new Map<string, { kek: string; value: string }>();
    let next = 0;
    let killed = false;

    const worker = async () => {
      while (next < TOTAL && !killed) {
        const index = next++;
        const name = `crash/${index}`;
        const value = `value-${index}-${'x'.repeat(index % 50)}`;
        try {
          const response = await firstCaller.call('POST', '/v1/keys/set', { name, value });
          if (response.status !== 200) continue;
          const body = response.json as { wrapping_key: string };
          // An answer that arrives after the kill was sent still acknowledged a write: it counts.
          acknowledged.set(name, { kek: body.wrapping_key, value });
          if (acknowledged.size === KILL_AFTER && !killed) {
            killed = true;
            first.child.kill('SIGKILL');
          }
        } catch {
          // connection refused or reset by the kill: not acknowledged
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    firstCaller.close();
    await first.stop();
    expect(killed).toBe(true);
    expect(acknowledged.size).toBeGreaterThanOrEqual(KILL_AFTER);

    const db = new Database(join(home, 'server', 'keybridge.db'), { readonly: true });
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();

    const second = await startUpProcess(home);
    const secondCaller = agentCaller(second.url, { tokenFile: join(home, 'agent.token') });
    const missing: string[] = [];
    for (const [name, { kek, value }] of acknowledged) {
      const response = await secondCaller.call('POST', '/v1/keys/get', { name, wrapping_key: kek });
      const body = response.json as { value_base64?: string };
      if (response.status !== 200 || Buffer.from(body.value_base64 ?? '', 'base64').toString() !== value) missing.push(name);
    }
    secondCaller.close();
    await second.stop();
    expect(missing).toEqual([]);
  });
});
