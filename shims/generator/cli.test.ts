import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { REPO_ROOT } from './build.ts';

const scratch = mkdtempSync(join(tmpdir(), 'keybridge-shims-cli-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function keybridge(...args: string[]) {
  const run = spawnSync(process.execPath, [join(REPO_ROOT, 'bin', 'keybridge.js'), ...args], { encoding: 'utf8' });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

it('keybridge shims build --out DIR prints the plugin and module paths (exit 0), usage mistakes exit 2, failures 1', () => {
  const out = join(scratch, 'out');
  const ok = keybridge('shims', 'build', '--out', out);
  expect(ok.code, ok.stderr).toBe(0);
  expect(ok.stdout).toBe(`${join(out, 'wordpress', 'keybridge')}\n${join(out, 'drupal', 'keybridge')}\n`);
  expect(existsSync(join(out, 'wordpress', 'keybridge', 'includes', 'class-keybridge-client.php'))).toBe(true);
  expect(existsSync(join(out, 'drupal', 'keybridge', 'src', 'Common', 'Client.php'))).toBe(true);
  expect(existsSync(join(out, 'drupal', 'keybridge', 'keybridge.info.yml'))).toBe(true);

  expect(keybridge('shims', 'build').code).toBe(2);
  expect(keybridge('shims', 'build').stderr).toContain('--out is required');
  expect(keybridge('shims').code).toBe(2);
  expect(keybridge('shims', 'publish', '--out', out).stderr).toContain('unknown shims command "publish"');

  // --out names a file: a clear error, exit 1.
  const file = join(scratch, 'a-file');
  writeFileSync(file, 'x');
  const failed = keybridge('shims', 'build', '--out', file);
  expect(failed.code).toBe(1);
  expect(failed.stderr).toMatch(/^keybridge: shims build failed: /);
});
