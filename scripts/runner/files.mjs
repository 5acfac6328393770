// Finding test files (repo-relative paths, sorted).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const SKIPPED_DIRS = new Set(['node_modules', 'vendor']);

/** Files under `dir` whose name ends with `suffix` and, if given, whose text matches `pattern`. */
export function findFiles(root, dir, suffix, pattern) {
  const found = [];
  const walk = (at) => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const path = join(at, entry.name);
      if (entry.isDirectory()) {
        if (!SKIPPED_DIRS.has(entry.name) && !entry.name.startsWith('.')) walk(path);
      } else if (entry.isFile() && entry.name.endsWith(suffix) && (!pattern || pattern.test(readFileSync(path, 'utf8')))) {
        found.push(relative(root, path));
      }
    }
  };
  if (existsSync(dir)) walk(dir);
  return found.sort();
}

/** Every *.wp.test.ts in the tree: the tests that need the WordPress fixture. */
export function wordPressTestFiles(root) {
  return findFiles(root, root, '.wp.test.ts');
}

/** Every *.drupal.test.ts in the tree: the tests that need the Drupal fixture. */
export function drupalTestFiles(root) {
  return findFiles(root, root, '.drupal.test.ts');
}
