import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startUpProcess, type UpProcess } from '../../test-helpers/up-process.ts';

/** `keybridge keys list` over the paged listing (issue 13), against a real `keybridge up`. */
const home = mkdtempSync(join(tmpdir(), 'kb-cli-list-'));
const env = { KEYBRIDGE_HOME: home };
let upProcess: UpProcess;

beforeAll(async () => {
  upProcess = await startUpProcess(home);
  const valueFile = join(home, 'value.txt');
  writeFileSync(valueFile, 'v');
  for (const name of ['list/a', 'list/b', 'list/c']) expect(runCli(['keys', 'set', name, '--value-file', valueFile], env).status).toBe(0);
});
afterAll(async () => {
  await upProcess?.stop();
  rmSync(home, { recursive: true, force: true });
});

describe('keybridge keys list', () => {
  it('lists every key, page after page, in one answer', () => {
    const result = runCli(['keys', 'list', '--json'], env);
    expect(result.status).toBe(0);
    const listing = JSON.parse(result.stdout);
    expect(listing.keys.map((key: { name: string }) => key.name)).toEqual(['list/a', 'list/b', 'list/c']);
    expect(listing.next_cursor).toBeUndefined();
  });

  it('gives one page with --limit, and the next from its cursor', () => {
    const first = JSON.parse(runCli(['keys', 'list', '--json', '--limit', '2'], env).stdout);
    expect(first.keys.map((key: { name: string }) => key.name)).toEqual(['list/a', 'list/b']);
    expect(typeof first.next_cursor).toBe('string');
    const second = JSON.parse(runCli(['keys', 'list', '--json', '--limit', '2', '--cursor', first.next_cursor], env).stdout);
    expect(second.keys.map((key: { name: string }) => key.name)).toEqual(['list/c']);
    expect(second.next_cursor).toBeUndefined();

    const table = runCli(['keys', 'list', '--limit', '1'], env);
    expect(table.stdout).toContain('list/a');
    expect(table.stdout).not.toContain('list/b');
    expect(table.stderr).toMatch(/more keys follow: --cursor [A-Za-z0-9_-]+/);
  });

  it('refuses bad paging flags with usage (exit 2) and a bad cursor with the agent problem (exit 1)', () => {
    expect(runCli(['keys', 'list', '--cursor', 'abc'], env).status).toBe(2);
    expect(runCli(['keys', 'list', '--limit', 'ten'], env).status).toBe(2);
    const badCursor = runCli(['keys', 'list', '--limit', '2', '--cursor', 'bm90LWdpdmVu!'], env);
    expect(badCursor.status).toBe(1);
    expect(badCursor.stderr).toContain('cursor');
  });
});
