import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { buildShims } from './generator/build.ts';

// `php -l` on every PHP file of the built plugin: a syntax error in any template or in the
// generator's output fails here, before PHPUnit or WordPress load the file.
const scratch = mkdtempSync(join(tmpdir(), 'keybridge-php-lint-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

it('every generated or copied PHP file parses (php -l)', () => {
  const { pluginDir, files } = buildShims({ outDir: join(scratch, 'out') });
  const php = files.filter((file) => file.endsWith('.php'));
  expect(php.length).toBeGreaterThanOrEqual(5);
  const failures: string[] = [];
  for (const file of php) {
    try {
      execFileSync('php', ['-l', join(pluginDir, file)], { stdio: 'pipe' });
    } catch (error) {
      const out = error as { stdout?: Buffer; stderr?: Buffer };
      failures.push(`${file}: ${String(out.stdout ?? '')}${String(out.stderr ?? '')}`.trim());
    }
  }
  expect(failures).toEqual([]);
}, 120_000);
