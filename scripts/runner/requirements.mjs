// What `npm test` needs on the machine, and installing what is missing: Debian packages with
// apt-get when the runner is root (as the PostgreSQL, SoftHSM and WordPress fixtures do), the
// shims' PHP tools with shims/install-php-tools.sh. Otherwise one message naming the command to run.
//
// Also a command of its own, for CI before `npm ci` (which needs the C++ toolchain):
//   node scripts/runner/requirements.mjs        # as root: installs the missing Debian packages
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Debian packages, and what needs them. */
export const DEBIAN_PACKAGES = {
  'build-essential': 'npm ci: the native addons better-sqlite3 and pkcs11js',
  python3: 'npm ci: node-gyp',
  'ca-certificates': 'npm and Composer over HTTPS',
  openssl: '`openssl verify` of issued certificates',
  'php-cli': 'PHP interoperability tests, PHPUnit, PHPCS',
  composer: 'shims/install-php-tools.sh (PHPUnit, PHPCS, WP-CLI)',
  postgresql: 'pass 2 and the PostgreSQL storage tests (fixtures/postgres)',
  softhsm2: 'the PKCS#11 root key tests and pass 2 (fixtures/softhsm)',
  'mariadb-server': 'the WordPress pass (fixtures/wordpress)',
  'mariadb-client': 'the WordPress pass',
  'php-curl': 'the WordPress plugin',
  'php-mysql': 'WordPress',
  'php-apcu': "the plugin's ciphertext cache",
  'php-xml': 'PHPUnit and PHPCS',
  'php-mbstring': 'WordPress and PHPCS',
  'php-intl': "key names' NFC and look-alike skeletons in PHP (NameVectorsTest)",
  curl: 'the WordPress fixture',
  'libjs-underscore': "files Debian's WordPress links to",
  'libjs-cropper': "files Debian's WordPress links to",
  'php-getid3': "files Debian's WordPress links to",
  chromium: 'the admin screen browser tests (playwright-core)',
};

const isRoot = () => process.getuid?.() === 0;
const run = (command, args, options = {}) => spawnSync(command, args, { stdio: ['ignore', 'inherit', 'inherit'], ...options });

function missingPackages() {
  return Object.keys(DEBIAN_PACKAGES).filter((name) => {
    const status = spawnSync('dpkg-query', ['-W', '-f=${Status}', name], { encoding: 'utf8' });
    return status.status !== 0 || !status.stdout.includes('install ok installed');
  });
}

/** apt-get install, then once more after apt-get update (a fresh machine has no package lists). */
function aptInstall(names) {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () => run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...names], { env }).status === 0;
  return install() || (run('apt-get', ['update', '-qq'], { env }).status === 0 && install());
}

/** Installs the missing packages, or says what to run: null when all is there, else the message for a person. */
export function ensureDebianPackages() {
  if (spawnSync('dpkg-query', ['--version']).status !== 0) {
    console.log(
      `note: not a Debian system (no dpkg-query): the tests need ${Object.keys(DEBIAN_PACKAGES).join(', ')} or their equivalents\n`,
    );
    return null;
  }
  const missing = missingPackages();
  if (missing.length === 0) return null;
  const command = `apt-get install -y --no-install-recommends ${missing.join(' ')}`;
  if (!isRoot()) {
    const why = missing.map((name) => `  ${name}: ${DEBIAN_PACKAGES[name]}`).join('\n');
    return `missing Debian packages:\n${why}\ninstall them with: sudo ${command}`;
  }
  console.log(`=== installing missing Debian packages: ${missing.join(' ')} ===`);
  return aptInstall(missing) ? null : `apt-get could not install ${missing.join(' ')}: run ${command} and read its errors`;
}

/** shims/vendor (PHPUnit, PHPCS, WP-CLI): the script does nothing when it is up to date. */
export function ensurePhpTools(root) {
  const result = run('bash', [join(root, 'shims/install-php-tools.sh')], { cwd: root });
  return result.status === 0 ? null : 'shims/install-php-tools.sh failed (see above): run bash shims/install-php-tools.sh';
}

export function ensureNodeModules(root) {
  return existsSync(join(root, 'node_modules', '.bin', 'vitest'))
    ? null
    : 'node_modules is missing: run `npm ci` (or `npm install`) first, then `npm test`';
}

/**
 * Everything `npm test` needs, installed where the runner may; returns the problems that remain.
 * With `strict` false (the runner got file filters, and the files chosen may need none of it)
 * only node_modules is a problem; the rest is printed as a note and the run goes on.
 */
export function ensureRequirements(root, { strict }) {
  const nodeModules = ensureNodeModules(root);
  if (nodeModules) return [nodeModules];
  const problems = [ensureDebianPackages(), ensurePhpTools(root)].filter(Boolean);
  if (strict) return problems;
  for (const problem of problems) console.log(`note: ${problem}\n`);
  return [];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const problem = ensureDebianPackages();
  if (problem) {
    console.error(problem);
    process.exit(1);
  }
}
