/**
 * `buildShims({ outDir })`: writes OUT/wordpress/keybridge from spec.yaml and the
 * templates. The shim is assembled in a temporary folder next to its destination and
 * renamed into place, so a failed build leaves the previous shim (or none), never half a one.
 */
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VERSION } from '../../sidecar/src/version.ts';
import { emitClientClass } from './emit-client.ts';
import { emitNameTablesClass } from './emit-name-tables.ts';
import { emitSpecClass } from './emit-spec.ts';
import { loadSpec, type Spec } from './spec.ts';
import { WORDPRESS, type ShimTarget } from './target.ts';
import { templateFiles, type ShimFile } from './templates.ts';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The files generated from the spec (what shims/golden/ pins), by path inside the shim. */
export function generatedFiles(spec: Spec, target: ShimTarget, version: string): ShimFile[] {
  return [
    { path: `${target.includesDir}/${target.classFile(`${target.classPrefix}Client`)}`, content: emitClientClass(spec, target) },
    { path: `${target.includesDir}/${target.classFile(`${target.classPrefix}Spec`)}`, content: emitSpecClass(spec, target, version) },
  ]
    .map((file) => ({ ...file, source: 'shims/spec.yaml' }))
    .concat({
      path: `${target.includesDir}/${target.classFile(`${target.classPrefix}Name_Tables`)}`,
      content: emitNameTablesClass(target),
      source: 'sidecar/src/agent/keys/name-tables.json',
    });
}

/** Every file of one shim; two sources for one path is an error, not a silent overwrite. */
export function shimFiles(root: string, spec: Spec, target: ShimTarget, version: string): ShimFile[] {
  const files = [...generatedFiles(spec, target, version), ...templateFiles(root, target, version)];
  const seen = new Map<string, string>();
  for (const file of files) {
    const earlier = seen.get(file.path);
    if (earlier) throw new Error(`${target.outputDir}/${file.path} would come from both ${earlier} and ${file.source}`);
    seen.set(file.path, file.source);
  }
  return files;
}

export interface BuildResult {
  /** Absolute path of the built WordPress plugin. */
  pluginDir: string;
  /** Paths inside the plugin, sorted. */
  files: string[];
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

export function buildShims(options: { outDir: string; root?: string; target?: ShimTarget }): BuildResult {
  const root = options.root ?? REPO_ROOT;
  const target = options.target ?? WORDPRESS;
  const outDir = resolve(options.outDir);
  const spec = loadSpec(join(root, 'shims', 'spec.yaml'));
  const files = shimFiles(root, spec, target, VERSION);

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
  return { pluginDir: destination, files: files.map((file) => file.path).sort() };
}
