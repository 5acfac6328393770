/**
 * `buildShims({ outDir })`: writes OUT/wordpress/keybridge and OUT/drupal/keybridge from
 * spec.yaml and the templates. Each shim is assembled in a temporary folder next to its
 * destination and renamed into place, so a failed build leaves the previous shim (or none),
 * never half a one.
 */
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VERSION } from '../../sidecar/src/version.ts';
import { emitClientClass } from './emit-client.ts';
import { emitNameTablesClass } from './emit-name-tables.ts';
import { emitSpecClass } from './emit-spec.ts';
import { namespaceSharedPhp } from './php-namespace.ts';
import { loadSpec, type Spec } from './spec.ts';
import { TARGETS, type ShimTarget } from './target.ts';
import { commonFiles, templateFiles, type ShimFile } from './templates.ts';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The shared PHP library: the client and spec generated from the spec, and templates/common/.
 * All of it is written once as global `Keybridge_*` classes; a target with a namespace gets
 * the same code as PSR-4 classes (php-namespace.ts).
 */
export function sharedFiles(root: string, spec: Spec, target: ShimTarget, version: string): ShimFile[] {
  const source = 'shims/spec.yaml';
  const prefixed: ShimFile[] = [
    { path: `${target.includesDir}/${target.classFile(`${target.classPrefix}Client`)}`, content: emitClientClass(spec, target), source },
    {
      path: `${target.includesDir}/${target.classFile(`${target.classPrefix}Spec`)}`,
      content: emitSpecClass(spec, target, version),
      source,
    },
    {
      path: `${target.includesDir}/${target.classFile(`${target.classPrefix}Name_Tables`)}`,
      content: emitNameTablesClass(target),
      source: NAME_TABLES_SOURCE,
    },
    ...commonFiles(root, target, version),
  ];
  const namespace = target.namespace;
  if (namespace === undefined) return prefixed;
  const php = prefixed.map((file) => ({ content: String(file.content), source: file.source }));
  return namespaceSharedPhp(php, namespace).map((file) => ({
    path: `${target.includesDir}/${file.className}.php`,
    content: file.content,
    source: file.source,
  }));
}

/** The agent's key-name tables, which the shims get as Keybridge_Name_Tables. */
export const NAME_TABLES_SOURCE = 'sidecar/src/agent/keys/name-tables.json';

/** The generated files (what shims/golden/ pins: from the spec, and the name tables), by path inside the shim. */
export function generatedFiles(spec: Spec, target: ShimTarget, version: string, root: string = REPO_ROOT): ShimFile[] {
  return sharedFiles(root, spec, target, version).filter((file) => file.source === 'shims/spec.yaml' || file.source === NAME_TABLES_SOURCE);
}

/** Every file of one shim; two sources for one path is an error, not a silent overwrite. */
export function shimFiles(root: string, spec: Spec, target: ShimTarget, version: string): ShimFile[] {
  const files = [...sharedFiles(root, spec, target, version), ...templateFiles(root, target, version)];
  const seen = new Map<string, string>();
  for (const file of files) {
    const earlier = seen.get(file.path);
    if (earlier) throw new Error(`${target.outputDir}/${file.path} would come from both ${earlier} and ${file.source}`);
    seen.set(file.path, file.source);
  }
  return files;
}

/** One built shim. */
export interface ShimBuild {
  target: ShimTarget;
  /** Absolute path of the shim's folder (OUT/wordpress/keybridge, OUT/drupal/keybridge). */
  dir: string;
  /** Paths inside it, sorted. */
  files: string[];
}

export interface BuildResult {
  /** Absolute path of the first shim built: the WordPress plugin unless a target was given. */
  pluginDir: string;
  /** Paths inside it, sorted. */
  files: string[];
  /** Every shim built, in TARGETS order. */
  shims: ShimBuild[];
}

/** Replaces `destination` with the folder `staged`; the old one is removed only after the swap. */
function swapIntoPlace(staged: string, destination: string, scratch: string): void {
  mkdirSync(dirname(destination), { recursive: true });
  const previous = join(scratch, 'previous');
  if (existsSync(destination)) renameSync(destination, previous);
  try {
    renameSync(staged, destination);
  } catch (error) {
    if (existsSync(previous)) renameSync(previous, destination);
    throw error;
  }
}

/** Builds every shim of TARGETS, or only `target` when given. */
export function buildShims(options: { outDir: string; root?: string; target?: ShimTarget }): BuildResult {
  const root = options.root ?? REPO_ROOT;
  const spec = loadSpec(join(root, 'shims', 'spec.yaml'));
  const targets = options.target ? [options.target] : TARGETS;
  // Every shim's files first: a template or namespacing error writes nothing at all.
  const planned = targets.map((target) => ({ target, files: shimFiles(root, spec, target, VERSION) }));
  const shims = planned.map(({ target, files }) => buildShim(resolve(options.outDir), target, files));
  return { pluginDir: shims[0].dir, files: shims[0].files, shims };
}

function buildShim(outDir: string, target: ShimTarget, files: ShimFile[]): ShimBuild {
  mkdirSync(outDir, { recursive: true });
  // Same file system as the destination, so the final rename is atomic.
  const scratch = mkdtempSync(join(outDir, '.keybridge-build-'));
  const destination = join(outDir, target.outputDir);
  try {
    const staged = join(scratch, 'shim');
    for (const file of files) {
      const path = join(staged, file.path);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, file.content);
    }
    swapIntoPlace(staged, destination, scratch);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return { target, dir: destination, files: files.map((file) => file.path).sort() };
}
