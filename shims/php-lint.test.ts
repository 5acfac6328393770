import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { buildShims } from './generator/build.ts';

// `php -l` on every PHP file of the built plugin and module (.php, and Drupal's .module and
// .install): a syntax error in any template or in the generator's output fails here, before
// PHPUnit, WordPress or Drupal load the file. Runs everywhere: no CMS needed.
const scratch = mkdtempSync(join(tmpdir(), 'keybridge-php-lint-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

it('every generated or copied PHP file parses (php -l)', () => {
  const { shims } = buildShims({ outDir: join(scratch, 'out') });
  const php = shims.flatMap((shim) =>
    shim.files.filter((file) => /\.(php|module|install)$/.test(file)).map((file) => join(shim.dir, file)),
  );
  expect(php.length).toBeGreaterThanOrEqual(30);
  const failures: string[] = [];
  for (const file of php) {
    try {
      execFileSync('php', ['-l', file], { stdio: 'pipe' });
    } catch (error) {
      const out = error as { stdout?: Buffer; stderr?: Buffer };
      failures.push(`${file}: ${String(out.stdout ?? '')}${String(out.stderr ?? '')}`.trim());
    }
  }
  expect(failures).toEqual([]);
}, 120_000);
