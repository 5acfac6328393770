import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { REPO_ROOT, buildShims } from './generator/build.ts';

// The built plugin must pass the WordPress Coding Standards (wpcs 2.3, shims/phpcs.xml.dist)
// with no error and no warning: templates and generated files alike.
const PHPCS = join(REPO_ROOT, 'shims', 'vendor', 'bin', 'phpcs');
const scratch = mkdtempSync(join(tmpdir(), 'keybridge-phpcs-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface PhpcsReport {
  totals: { errors: number; warnings: number };
  files: Record<string, { errors: number; warnings: number; messages: { line: number; message: string; source: string }[] }>;
}

it('the built WordPress plugin passes PHPCS (WordPress standard) with zero errors and warnings', () => {
  expect(existsSync(PHPCS), 'shims/vendor is missing: run shims/install-php-tools.sh').toBe(true);
  const { pluginDir } = buildShims({ outDir: join(scratch, 'out') });
  const reportFile = join(scratch, 'phpcs.json');
  try {
    execFileSync(PHPCS, ['-q', `--standard=${join(REPO_ROOT, 'shims', 'phpcs.xml.dist')}`, `--report-json=${reportFile}`, pluginDir], {
      stdio: 'pipe',
    });
  } catch {
    // phpcs exits non-zero when it finds something; the report below says what.
  }
  const report = JSON.parse(readFileSync(reportFile, 'utf8')) as PhpcsReport;
  const problems = Object.entries(report.files)
    .filter(([, file]) => file.errors + file.warnings > 0)
    .flatMap(([path, file]) => file.messages.map((m) => `${relative(pluginDir, path)}:${m.line} ${m.source}: ${m.message}`));
  expect(problems).toEqual([]);
  expect(report.totals).toEqual({ errors: 0, warnings: 0, fixable: 0 });
}, 120_000);
