/**
 * Collects the files a shim is made of, besides the generated ones: the CMS glue from
 * templates/<cms>/, the CMS-neutral PHP from templates/common/ and the admin-ui bundle.
 * Text files get `{{version}}` replaced by the package version.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative } from 'node:path';
import type { ShimTarget } from './target.ts';

export interface ShimFile {
  /** Path inside the shim's folder, with `/`. */
  path: string;
  content: Buffer | string;
  /** Where it came from, for messages (repo-relative). */
  source: string;
}

/** The admin-ui files a shim ships (admin-ui/ owns them); keybridge-admin-site.js: a site's own panels. */
export const ADMIN_UI_FILES = ['keybridge-admin.js', 'keybridge-admin-site.js', 'keybridge-admin.css'];

const TEXT_EXTENSIONS = new Set(['.php', '.js', '.css', '.txt', '.md', '.json', '.html', '.xml', '.pot', '.yml', '.yaml']);
/** Files that only keep folders in git. */
const SKIPPED = new Set(['.gitkeep', '.DS_Store']);

function withVersion(path: string, bytes: Buffer, version: string): Buffer | string {
  return TEXT_EXTENSIONS.has(extname(path)) ? bytes.toString('utf8').replace(/\{\{version\}\}/g, version) : bytes;
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (SKIPPED.has(entry.name)) continue;
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...walk(full));
    else if (entry.isFile()) out.push(full);
  }
  return out;
}

function copyTree(root: string, from: string, to: string, version: string): ShimFile[] {
  if (!existsSync(from)) return [];
  return walk(from).map((file) => ({
    path: join(to, relative(from, file)).split('\\').join('/').replace(/^\.\//, ''),
    content: withVersion(file, readFileSync(file), version),
    source: relative(root, file),
  }));
}

/** The CMS-neutral PHP of templates/common/, as written (global `Keybridge_*` classes). */
export function commonFiles(root: string, target: ShimTarget, version: string): ShimFile[] {
  return copyTree(root, join(root, 'shims', 'templates', 'common'), target.includesDir, version);
}

/** The CMS's own glue (templates/<cms>/) and the admin-ui bundle. */
export function templateFiles(root: string, target: ShimTarget, version: string): ShimFile[] {
  const templates = join(root, 'shims', 'templates');
  const files = [...copyTree(root, join(templates, target.templateDir), '.', version)];
  const adminUi = join(root, 'admin-ui');
  if (!existsSync(adminUi) || !statSync(adminUi).isDirectory()) {
    throw new Error(`the admin-ui folder is missing (${adminUi}): the shim ships its bundle`);
  }
  for (const name of ADMIN_UI_FILES) {
    const file = join(adminUi, name);
    if (!existsSync(file)) continue;
    files.push({
      path: `${target.assetsDir}/${name}`,
      content: withVersion(file, readFileSync(file), version),
      source: relative(root, file),
    });
  }
  return files;
}
