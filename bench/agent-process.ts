/**
 * `keybridge up` as a child process for the bench: started exactly as a user would
 * (`node bin/keybridge.js up --home DIR --listen …`), its per-request access log (stderr)
 * sent to a file in its home so nothing in the bench has to read it while load runs.
 *
 * Not `startUpProcess` from sidecar/test-helpers: that one keeps all output in memory
 * (fine for a test, not for a million log lines) and does not pin or profile.
 */
import type { ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { authFor, type BenchAuth } from './agent-auth.ts';
import type { Target } from './loadgen-protocol.ts';
import { exited, REPO_ROOT, spawnNode, stopChild } from './processes.ts';

export const BIN = join(REPO_ROOT, 'bin', 'keybridge.js');

export interface AgentProcess {
  child: ChildProcess;
  pid: number;
  url: string;
  target: Target;
  /** How the bench proves it may use this agent (its checkout's scheme). */
  auth: BenchAuth;
  home: string;
  logFile: string;
  /** The last lines the process printed, for error messages. */
  tail(lines?: number): string;
  logBytes(): number;
  stop(): Promise<number | null>;
}

export interface StartAgentOptions {
  home: string;
  /** `127.0.0.1:0` or `unix:/path/agent.sock`. */
  listen: string;
  cpu?: number | null;
  /** When set, the agent runs with `--cpu-prof` and writes its profile here on exit. */
  cpuProfDir?: string;
  /** bin/keybridge.js to run (default: this checkout's). */
  bin?: string | null;
  /** `file` (default): access log to a file in home; `null`: to /dev/null. */
  log?: 'file' | 'null';
}

export function parseAgentUrl(url: string): Target {
  if (url.startsWith('unix:')) return { kind: 'unix', path: url.slice('unix:'.length) };
  const parsed = new URL(url);
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  return { kind: 'tcp', host, port: Number(parsed.port) };
}

export async function startAgent(options: StartAgentOptions): Promise<AgentProcess> {
  const { home } = options;
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const urlFile = join(home, 'agent.url');
  rmSync(urlFile, { force: true });
  const stamp = Date.now();
  const logFile = options.log === 'null' ? '/dev/null' : join(home, `up-${stamp}.log`);
  const outFile = join(home, `up-${stamp}.out`);
  const outFd = openSync(outFile, 'a');
  const logFd = openSync(logFile, 'a');
  const nodeArgs = options.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', options.cpuProfDir] : [];
  const child = spawnNode([...nodeArgs, options.bin ?? BIN, 'up', '--home', home, '--listen', options.listen], {
    cpu: options.cpu,
    stdio: ['ignore', outFd, logFd],
  });
  closeSync(outFd);
  closeSync(logFd);

  // What it printed besides the access log (one JSON line per request): start-up lines,
  // warnings, a stack trace.
  const tail = (lines = 20) => {
    const read = (file: string) => (file !== '/dev/null' && existsSync(file) ? readFileSync(file, 'utf8') : '');
    const text = `${read(outFile)}${read(logFile)}`;
    const kept = text.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('{"at":'));
    return kept.slice(-lines).join('\n') || '(nothing besides the access log)';
  };

  const deadline = Date.now() + 30_000;
  while (!existsSync(urlFile)) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`keybridge up exited (${child.exitCode ?? child.signalCode}) before listening:\n${tail()}`);
    }
    if (Date.now() > deadline) {
      await stopChild(child, 1_000);
      throw new Error(`keybridge up did not start within 30 s:\n${tail()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  const url = readFileSync(urlFile, 'utf8').trim();
  const token = readFileSync(join(home, 'agent.token'), 'utf8').trim();
  return {
    child,
    pid: child.pid!,
    url,
    target: parseAgentUrl(url),
    auth: authFor(dirname(dirname(options.bin ?? BIN)), token),
    home,
    logFile,
    tail,
    logBytes: () => (logFile !== '/dev/null' && existsSync(logFile) ? statSync(logFile).size : 0),
    stop: async () => {
      // SIGTERM: keybridge up closes cleanly, which is also when --cpu-prof writes its profile.
      const code = await stopChild(child, 10_000);
      await exited(child);
      return code;
    },
  };
}
