import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyPages } from '../../../test-helpers/agent-caller.ts';
import { startEmbedded, type EmbeddedAgent } from '../../../test-helpers/embedded.ts';

/** GET /v1/keys in pages (issue 13, finding 8), against a real agent and key service. */
let agent: EmbeddedAgent;
beforeAll(async () => {
  agent = await startEmbedded();
  for (const name of ['page/e', 'page/a', 'page/d', 'page/b', 'page/c']) {
    expect((await agent.call('POST', '/v1/keys/set', { name, value: 'v', label: `label of ${name}` })).status).toBe(200);
  }
});
afterAll(async () => {
  await agent?.stop();
});

async function allPages(limit: number): Promise<{ names: string[]; pages: number }> {
  const pages = await keyPages(agent, limit);
  for (const page of pages) expect(page.length).toBeLessThanOrEqual(limit);
  return { names: pages.flat().map((key) => key.name), pages: pages.length };
}

describe('GET /v1/keys pages', () => {
  it('sorts by name and pages through everything exactly once', async () => {
    const whole = await agent.call('GET', '/v1/keys');
    expect(whole.json.next_cursor).toBeUndefined();
    expect(whole.json.keys.map((key: { name: string }) => key.name)).toEqual(['page/a', 'page/b', 'page/c', 'page/d', 'page/e']);
    expect(whole.json.keys[0]).toMatchObject({ label: 'label of page/a', version: 1, reads: 0 });
    expect(await allPages(2)).toEqual({ names: ['page/a', 'page/b', 'page/c', 'page/d', 'page/e'], pages: 3 });
    expect(await allPages(5)).toEqual({ names: ['page/a', 'page/b', 'page/c', 'page/d', 'page/e'], pages: 1 });
  });

  it('shows this agent’s own writes and deletions at once, and a cursor survives them', async () => {
    const first = await agent.call('GET', '/v1/keys?limit=2');
    expect((await agent.call('POST', '/v1/keys/delete', { name: 'page/c' })).status).toBe(200);
    await agent.call('POST', '/v1/keys/set', { name: 'page/bb', value: 'v' });
    const rest = await agent.call('GET', `/v1/keys?limit=10&cursor=${first.json.next_cursor}`);
    expect(rest.json.keys.map((key: { name: string }) => key.name)).toEqual(['page/bb', 'page/d', 'page/e']);
    const status = await agent.call('GET', '/v1/status');
    expect(status.json.rows.find((row: { id: string }) => row.id === 'keys-stored').value).toBe('5 in development');
  });

  it('refuses a bad limit, cursor or parameter, naming it', async () => {
    for (const [query, field] of [
      ['limit=0', 'limit'],
      ['limit=1001', 'limit'],
      ['limit=ten', 'limit'],
      ['limit=1.5', 'limit'],
      ['cursor=not!base64', 'cursor'],
      ['cursor=', 'cursor'],
      ['cursor=cGFnZS9h%3D', 'cursor'],
      ['offset=10', 'offset'],
    ]) {
      const response = await agent.call('GET', `/v1/keys?${query}`);
      expect(response.status, query).toBe(422);
      expect(response.json, query).toMatchObject({ type: 'invalid-field', field });
    }
  });
});
