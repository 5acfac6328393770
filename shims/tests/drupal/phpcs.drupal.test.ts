/**
 * The built Drupal module passes PHPCS with Drupal's own standards (Drupal and
 * DrupalPractice, from drupal/coder, which the fixture installs where Composer can).
 *
 * src/Common/ is left out on purpose: it is the CMS-neutral library shared with the
 * WordPress plugin, emitted from the same hand-written source with only its class names and
 * namespace rewritten (shims/generator/php-namespace.ts), so it keeps that source's layout
 * (WordPress style: tabs, snake_case methods, array()), which shims/phpcs.test.ts checks
 * against the WordPress standard. Reformatting it for Drupal at build time would make the
 * two copies differ in every line; renaming its methods would make one API with two names.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { DRUPAL } from '../../generator/target.ts';
import { buildShims } from '../../generator/build.ts';
import { attachDrupal } from '../../../fixtures/drupal/drupal.ts';
import { runPhpcs } from '../../phpcs-report.ts';

const { env } = attachDrupal();
if (!env.PHPCS_DRUPAL) console.log(`PHPCS (Drupal standards) skipped: drupal/coder did not install (see ${env.DRUPAL_LOG_DIR}/coder.log)`);
const scratch = mkdtempSync(join(tmpdir(), 'keybridge-phpcs-drupal-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

it.skipIf(!env.PHPCS_DRUPAL)(
  'the built Drupal module passes PHPCS (Drupal, DrupalPractice) with zero errors and warnings',
  () => {
    const { pluginDir } = buildShims({ outDir: join(scratch, 'out'), target: DRUPAL });
    const { report, problems } = runPhpcs(
      env.PHPCS_DRUPAL,
      ['-q', '--standard=Drupal,DrupalPractice', '--extensions=php,module,install,inc,yml,js', '--ignore=*/src/Common/*,*/assets/*'],
      pluginDir,
      join(scratch, 'phpcs.json'),
    );
    expect(problems).toEqual([]);
    expect(Object.keys(report.files).length).toBeGreaterThan(15);
  },
  120_000,
);
