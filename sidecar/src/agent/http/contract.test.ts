import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { PROBLEMS } from '../../errors.ts';
import { startEmbedded, type EmbeddedAgent } from '../../../test-helpers/embedded.ts';
import { lockrItem } from '../../../test-helpers/lockr-item.ts';
import { validateShape, type Shape } from '../../../test-helpers/schema.ts';
import { EMBEDDED_PASSWORD_FILE } from '../../roles/up.ts';
import { createAgent } from '../agent.ts';
import { CertificateStore } from '../certs/store.ts';

/**
 * The contract test of DESIGN.md: shims/spec.yaml is the single source of the local API,
 * and the running agent serves every operation in it with the declared shapes — and
 * nothing that is not in it.
 */
const spec = parse(readFileSync(new URL('../../../../shims/spec.yaml', import.meta.url), 'utf8'));
const shapes: Record<string, Shape> = spec.shapes;
type Operation = {
  id: string;
  method: string;
  path: string;
  auth?: boolean;
  /** `unregistered`: run against an agent whose site is not registered yet. */
  fixture?: 'unregistered';
  request?: Shape;
  /** A GET operation's URL query parameters. */
  query?: Shape;
  example?: unknown;
  response: Shape;
};
const operations: Operation[] = spec.operations;

let agent: EmbeddedAgent;
let unregistered: EmbeddedAgent;
const wrappingKeys = new Map<string, string>();
let bundle: unknown;

beforeAll(async () => {
  agent = await startEmbedded();
  unregistered = await startEmbedded({ register: false });
});
afterAll(async () => {
  await agent?.stop();
  await unregistered?.stop();
});

/** Fills the example's placeholders with what earlier operations returned. */
function fill(value: unknown): unknown {
  if (typeof value === 'string') {
    const match = /^\{\{([a-z_]+)(?::(.+))?\}\}$/.exec(value);
    if (!match) return value;
    const [, kind, name] = match;
    if (kind === 'wrapping_key') return wrappingKeys.get(name);
    if (kind === 'wrapping_keys') return { [name]: wrappingKeys.get(name) };
    if (kind === 'lockr_items') return [lockrItem('contract/lockr', 'from lockr')];
    if (kind === 'bundle') return bundle;
    // The embedded account's password, which `keybridge up` keeps in its home.
    if (kind === 'account_password') return readFileSync(join(agent.home, EMBEDDED_PASSWORD_FILE), 'utf8').trim();
    throw new Error(`unknown placeholder ${value}`);
  }
  if (Array.isArray(value)) return value.map(fill);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fill(v)]));
  return value;
}

describe('shims/spec.yaml contract', () => {
  it('lists every problem type the code defines, and no other', () => {
    expect([...spec.problem_types].sort()).toEqual(Object.keys(PROBLEMS).sort());
  });

  it('describes every route the agent serves, and the agent serves no other', () => {
    const { routes } = createAgent({
      client: {} as never,
      certificates: new CertificateStore('/nonexistent'),
      token: 'x'.repeat(43),
      region: 'local',
      webroots: [],
      cache: { ttlMs: 1, staleMs: 1, maxEntries: 1 },
    });
    const served = routes;
    const declared = operations.map((op) => `${op.method} ${op.path}`);
    expect([...new Set(served)].sort()).toEqual([...declared].sort());
  });

  for (const op of operations) {
    it(`${op.id}: ${op.method} ${op.path} answers with the declared shape`, async () => {
      const body = op.method === 'POST' ? fill(op.example) : undefined;
      if (op.request) expect(validateShape(body, op.request, shapes)).toEqual([]);
      let path = op.path;
      if (op.method === 'GET' && op.example !== undefined) {
        expect(op.query, 'a GET example gives query parameters').toBeDefined();
        expect(validateShape(op.example, op.query as Shape, shapes)).toEqual([]);
        path += `?${new URLSearchParams(Object.entries(op.example as object).map(([key, value]) => [key, String(value)]))}`;
      }
      const target = op.fixture === 'unregistered' ? unregistered : agent;
      const response = await target.call(op.method, path, body);
      expect(response.status, response.text).toBe(200);
      expect(response.headers.get('cache-control')).toBe('no-store');
      expect(validateShape(response.json, op.response, shapes)).toEqual([]);
      if (response.json?.wrapping_key) wrappingKeys.set(response.json.name, response.json.wrapping_key);
      if (op.id === 'export') bundle = response.json;

      if (op.auth !== false) {
        const denied = await fetch(`${target.url}${op.path}`, { method: op.method });
        expect(denied.status).toBe(401);
        expect(denied.headers.get('content-type')).toBe('application/problem+json');
        expect(validateShape(await denied.json(), shapes.problem, shapes)).toEqual([]);
      }
    });
  }

  it('lists the status rows the agent reports, in order, with their titles', async () => {
    const status = await agent.call('GET', '/v1/status');
    const rows = status.json.rows.map((row: { id: string; title: string }) => ({ id: row.id, title: row.title }));
    expect(rows).toEqual(spec.status_rows);
  });

  it('answers an unknown route with a problem of the declared shape', async () => {
    const response = await agent.call('GET', '/v1/nope');
    expect(response.status).toBe(404);
    expect(validateShape(response.json, shapes.problem, shapes)).toEqual([]);
    expect(response.headers.get('cache-control')).toBe('no-store');
  });
});
