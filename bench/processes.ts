/**
 * Child processes and temp dirs of one bench run, and their cleanup: every child is
 * tracked and every temp dir registered, so a normal end, an error, SIGINT or SIGTERM all
 * leave nothing behind.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const REPO_ROOT = new URL('../', import.meta.url).pathname;

const children = new Set<ChildProcess>();
const tempDirs = new Set<string>();
let installed = false;

export function makeTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

/** `taskset` is used to pin a child to one core when asked for and available. */
export function canPin(): boolean {
  return spawnSync('taskset', ['-V'], { stdio: 'ignore' }).status === 0;
}

/**
 * Starts `node ...args` (pinned to `cpu` through taskset when given: taskset execs node, so
 * the pid is node's) and tracks it for cleanup.
 */
export function spawnNode(args: string[], options: SpawnOptions & { cpu?: number | null } = {}): ChildProcess {
  const { cpu, ...spawnOptions } = options;
  const child =
    cpu === null || cpu === undefined
      ? spawn(process.execPath, args, { cwd: REPO_ROOT, ...spawnOptions })
      : spawn('taskset', ['-c', String(cpu), process.execPath, ...args], { cwd: REPO_ROOT, ...spawnOptions });
  children.add(child);
  child.once('exit', () => children.delete(child));
  child.once('error', () => children.delete(child));
  return child;
}

export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
export async function stopChild(child: ChildProcess, graceMs = 5_000): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const done = exited(child);
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  try {
    return await done;
  } finally {
    clearTimeout(timer);
  }
}

/** Synchronous last-resort cleanup: kill what is left (by pid, only our own children), remove temp dirs. */
function cleanupNow(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  children.clear();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

/** Graceful cleanup for the normal path: stop children politely, then remove temp dirs. */
export async function cleanup(): Promise<void> {
  await Promise.all([...children].map((child) => stopChild(child, 3_000)));
  cleanupNow();
}

export function installCleanupHandlers(): void {
  if (installed) return;
  installed = true;
  process.on('exit', cleanupNow);
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    // `on`, not `once`: Ctrl-C reaches us twice (from the terminal and relayed by npm/tsx),
    // and a second SIGINT without a handler would kill us before the cleanup is done.
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      process.stderr.write(`\nbench: ${signal}, stopping children and removing temp dirs\n`);
      const hardExit = setTimeout(() => {
        cleanupNow();
        process.exit(130);
      }, 4_000);
      hardExit.unref();
      cleanup().finally(() => process.exit(130));
    });
  }
  process.on('uncaughtException', (error) => {
    process.stderr.write(`bench: crashed: ${error.stack ?? error.message}\n`);
    cleanupNow();
    process.exit(1);
  });
  process.on('unhandledRejection', (error) => {
    process.stderr.write(`bench: crashed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    cleanupNow();
    process.exit(1);
  });
}
