import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lockrItem } from '../../test-helpers/lockr-item.ts';
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

  it('lists past the agent’s largest page, and export keeps the label of a key on a later page', () => {
    // 1,001 keys: one more than a page can hold. The import is the quick way to make them.
    const items = Array.from({ length: 1001 }, (_, i) => ({
      ...lockrItem(`page/${String(i).padStart(4, '0')}`, `v${i}`),
      label: `label ${i}`,
    }));
    const importFile = join(home, 'many.json');
    writeFileSync(importFile, JSON.stringify(items));
    const imported = runCli(['import', 'lockr', '--file', importFile, '--json'], env);
    expect(imported.status, imported.stderr).toBe(0);
    const last = JSON.parse(imported.stdout.trim().split('\n').at(-1)!);
    expect(last.name).toBe('page/1000');

    const listing = JSON.parse(runCli(['keys', 'list', '--json'], env).stdout);
    expect(listing.keys.filter((key: { name: string }) => key.name.startsWith('page/'))).toHaveLength(1001);

    const keks = join(home, 'keks.json');
    writeFileSync(keks, JSON.stringify({ 'page/1000': last.wrapping_key }));
    const passphrase = join(home, 'passphrase');
    writeFileSync(passphrase, 'correct horse battery staple\n');
    const out = join(home, 'bundle.json');
    const exported = runCli(['export', '--out', out, '--passphrase-file', passphrase, '--wrapping-keys-file', keks], env);
    expect(exported.status, exported.stderr).toBe(0);
    runCli(['keys', 'delete', 'page/1000'], env);
    const back = runCli(['import', 'bundle', '--file', out, '--passphrase-file', passphrase], env);
    expect(back.status, back.stderr).toBe(0);
    const relisted = JSON.parse(
      runCli(['keys', 'list', '--json', '--limit', '1', '--cursor', Buffer.from('page/0999').toString('base64url')], env).stdout,
    );
    expect(relisted.keys).toMatchObject([{ name: 'page/1000', label: 'label 1000' }]);
  }, 120_000);
});
