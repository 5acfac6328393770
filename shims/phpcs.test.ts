import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { REPO_ROOT, buildShims } from './generator/build.ts';
import { runPhpcs } from './phpcs-report.ts';

// The built plugin must pass the WordPress Coding Standards (wpcs 2.3, shims/phpcs.xml.dist)
// with no error and no warning: templates and generated files alike.
const PHPCS = join(REPO_ROOT, 'shims', 'vendor', 'bin', 'phpcs');
const scratch = mkdtempSync(join(tmpdir(), 'keybridge-phpcs-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

it('the built WordPress plugin passes PHPCS (WordPress standard) with zero errors and warnings', () => {
  expect(existsSync(PHPCS), 'shims/vendor is missing: run shims/install-php-tools.sh').toBe(true);
  const { pluginDir } = buildShims({ outDir: join(scratch, 'out') });
  const { report, problems } = runPhpcs(
    PHPCS,
    ['-q', `--standard=${join(REPO_ROOT, 'shims', 'phpcs.xml.dist')}`],
    pluginDir,
    join(scratch, 'phpcs.json'),
  );
  expect(problems).toEqual([]);
  expect(report.totals).toEqual({ errors: 0, warnings: 0, fixable: 0 });
}, 120_000);
