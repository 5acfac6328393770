/**
 * `npm run bench`: how fast the agent serves cached reads, against the floor of a bare
 * node:http server measured in the same run on the same machine.
 *
 *   1. start `keybridge up` (child process, temp home, TCP loopback), store ~100 keys of
 *      realistic size, keep their KEKs, read each once (warms the ciphertext cache);
 *   2. start the baseline server (bench/baseline-server.ts, its own child process);
 *   3. for each row, a load generator in its OWN child process (bench/loadgen.ts): warm-up,
 *      then a fixed measured window; server pinned to core 0, load to core 1 (BENCH_PIN);
 *   4. restart `keybridge up` on a unix socket (same home: same keys and KEKs) for the
 *      unix rows;
 *   5. report (bench/report.ts): table on stdout, JSON in bench/results/.
 *
 * Settings: bench/config.ts (BENCH_SECONDS, BENCH_ONLY, BENCH_CPU_PROF, …).
 * Exit code: 0 when the run is valid (targets missed or not); 1 when something broke
 * (non-200 answers, transport errors, a crash, a stall).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import type { BenchAuth } from './agent-auth.ts';
import { startAgent, type AgentProcess } from './agent-process.ts';
import { startBaseline, type BaselineProcess } from './baseline-process.ts';
import { readConfig } from './config.ts';
import { closeIdleSockets } from './http-json.ts';
import { setKeys, warmAndCheck, type BenchKey } from './keyset.ts';
import type { LoadgenResult, Target } from './loadgen-protocol.ts';
import { runLoad } from './loadgen-runner.ts';
import { readCpuMs, readMachineBusyMs, readMemory, readThreadCpuMs, sampleRss, threadCpuDelta } from './proc.ts';
import { canPin, cleanup, installCleanupHandlers, makeTempDir } from './processes.ts';
import { analyseProfile, summariseProfileFile, type Window } from './profile-summary.ts';
import {
  attachBaselineRatios,
  checkTargets,
  formatReport,
  machineInfo,
  NOISY_SHARE,
  RESULTS_DIR,
  writeReport,
  type BenchReport,
  type Row,
  type ServerSample,
} from './report.ts';
import { defaultPlan, fetchRequests, getRequests, type Scenario } from './scenarios.ts';

/** Waits (at most `maxMs`) until the rest of the machine uses less than NOISY_SHARE of a core. */
async function waitForQuiet(maxMs: number): Promise<void> {
  const deadline = Date.now() + maxMs;
  for (;;) {
    const before = readMachineBusyMs();
    await new Promise((resolve) => setTimeout(resolve, 500));
    const after = readMachineBusyMs();
    if (before === null || after === null) return;
    const share = (after - before) / 500;
    if (share < NOISY_SHARE) return;
    if (Date.now() >= deadline) {
      progress(`machine still busy (${Math.round(share * 100)}% of a core used by others); measuring anyway`);
      return;
    }
  }
}

function progress(text: string): void {
  process.stderr.write(`bench: ${text}\n`);
}

async function measure(
  scenario: Scenario,
  target: Target,
  requests: string[],
  auth: BenchAuth | undefined,
  serverPid: number,
  settings: { warmupMs: number; measureMs: number; maxRequests: number; loadCpu: number | null },
): Promise<{ result: LoadgenResult; server: ServerSample; window: Window }> {
  const before = readMemory(serverPid);
  const sampler = sampleRss(serverPid);
  let cpuStart: number | null = null;
  let cpuEnd: number | null = null;
  let machineStart: number | null = null;
  let machineEnd: number | null = null;
  let wallStart = 0;
  let wallEnd = 0;
  let hrStart = 0n;
  let hrEnd = 0n;
  let threadsStart = new Map<string, number>();
  let threadsEnd = new Map<string, number>();
  const result = await runLoad(
    {
      target,
      requests,
      token: auth?.scheme === 'proof' ? auth.token : undefined,
      concurrency: scenario.concurrency,
      warmupMs: settings.warmupMs,
      measureMs: settings.measureMs,
      maxRequests: settings.maxRequests,
      expectStatus: 200,
    },
    {
      cpu: settings.loadCpu,
      onMeasureStart: () => {
        cpuStart = readCpuMs(serverPid);
        threadsStart = readThreadCpuMs(serverPid);
        machineStart = readMachineBusyMs();
        wallStart = performance.now();
        hrStart = process.hrtime.bigint();
      },
      onMeasureEnd: () => {
        cpuEnd = readCpuMs(serverPid);
        threadsEnd = readThreadCpuMs(serverPid);
        machineEnd = readMachineBusyMs();
        wallEnd = performance.now();
        hrEnd = process.hrtime.bigint();
      },
    },
  );
  const peak = sampler.stop();
  const after = readMemory(serverPid);
  const wall = wallEnd - wallStart;
  const cpuShare = cpuStart !== null && cpuEnd !== null && wall > 0 ? (cpuEnd - cpuStart) / wall : null;
  // Everything else the machine did meanwhile (other users' tests, builds …): noise.
  const machineShare = machineStart !== null && machineEnd !== null && wall > 0 ? (machineEnd - machineStart) / wall : null;
  const otherCpuShare = machineShare !== null && cpuShare !== null ? Math.max(0, machineShare - cpuShare - result.loadgenCpuShare) : null;
  return {
    result,
    window: { startUs: Number(hrStart / 1000n), endUs: Number(hrEnd / 1000n) },
    server: {
      pid: serverPid,
      rssBeforeKb: before?.rssKb ?? null,
      rssAfterKb: after?.rssKb ?? null,
      rssPeakSampledKb: peak || null,
      hwmKb: after?.hwmKb ?? null,
      cpuShare,
      cpuUsPerRequest:
        cpuStart !== null && cpuEnd !== null && result.completed > 0 ? ((cpuEnd - cpuStart) * 1000) / result.completed : null,
      otherCpuShare,
      threadCpuMs: threadCpuDelta(threadsStart, threadsEnd),
    },
  };
}

function rowErrors(result: LoadgenResult): number {
  return Object.values(result.errors.byStatus).reduce((a, b) => a + b, 0) + result.errors.transport;
}

async function main(): Promise<number> {
  installCleanupHandlers();
  const config = readConfig();
  const date = new Date().toISOString();
  const pinning = config.pin && os.cpus().length >= 2 && canPin();
  const serverCpu = pinning ? 0 : null;
  const loadCpu = pinning ? 1 : null;
  const settings = {
    warmupMs: config.warmupSeconds * 1000,
    measureMs: config.measureSeconds * 1000,
    maxRequests: config.maxRequests,
    loadCpu,
  };
  const plan = defaultPlan().filter((scenario) => !config.only || config.only.includes(scenario.id));
  if (plan.length === 0)
    throw new Error(
      `BENCH_ONLY matched no row (ids: ${defaultPlan()
        .map((s) => s.id)
        .join(' ')})`,
    );
  const profileDir = config.cpuProfile ? join(RESULTS_DIR, 'profiles', date.replace(/:/g, '-').replace(/\.\d+Z$/, 'Z')) : undefined;
  if (profileDir) mkdirSync(profileDir, { recursive: true });

  const work = makeTempDir('keybridge-bench-');
  const home = join(work, 'home');
  const problems: string[] = [];
  const notes: string[] = [];
  const rows: Row[] = [];
  const agentMemory: BenchReport['agentMemory'] = { processes: [] };
  const noisyRows: string[] = [];
  /** Per agent pid: the measured windows and the requests completed in them (for the profile summary). */
  const profileWindows = new Map<number, { windows: Window[]; requests: number }>();

  progress(
    `${plan.length} rows × (${config.warmupSeconds} s warm-up + ${config.measureSeconds} s); ` +
      (pinning ? 'server on core 0, load generator on core 1' : 'no CPU pinning'),
  );

  let agent: AgentProcess | null = null;
  let agentTransport: 'tcp' | 'unix' | null = null;
  let keys: BenchKey[] = [];
  let baseline: BaselineProcess | null = null;

  const stopAgent = async () => {
    if (!agent) return;
    const current = agent;
    agent = null;
    const memory = readMemory(current.pid);
    const entry = agentMemory.processes.find((item) => item.pid === current.pid);
    if (entry) {
      entry.rssEndKb = memory?.rssKb ?? null;
      entry.hwmKb = memory?.hwmKb ?? null;
    }
    const crashed = current.child.exitCode !== null || current.child.signalCode !== null;
    const code = await current.stop();
    const how = current.child.signalCode ? `signal ${current.child.signalCode}` : `exit ${code}`;
    if (crashed) problems.push(`keybridge up (${current.url}) died during the run (${how}); its last output:\n${current.tail()}`);
    else if (code !== 0) problems.push(`keybridge up (${current.url}) exited ${code} on SIGTERM:\n${current.tail()}`);
    if (config.agentLog === 'file')
      notes.push(
        `agent ${current.url} wrote ${(current.logBytes() / 1024 / 1024).toFixed(1)} MB of access log (one JSON line per request, batched once per event-loop turn)`,
      );
  };

  const ensureAgent = async (transport: 'tcp' | 'unix') => {
    if (agent && agentTransport === transport) return agent;
    await stopAgent();
    const listen = transport === 'tcp' ? '127.0.0.1:0' : `unix:${join(work, 'agent.sock')}`;
    progress(`starting keybridge up --listen ${listen}`);
    const started = await startAgent({
      home,
      listen,
      cpu: serverCpu,
      cpuProfDir: profileDir,
      log: config.agentLog,
      bin: config.keybridgeBin,
    });
    agent = started;
    agentTransport = transport;
    if (keys.length === 0) {
      progress(`storing ${config.keyCount} keys (40-byte API tokens)`);
      keys = await setKeys(started.target, started.auth, config.keyCount);
    }
    progress('reading every key once (checks values, warms the cache)');
    await warmAndCheck(started.target, started.auth, keys);
    closeIdleSockets();
    const idle = readMemory(started.pid);
    agentMemory.processes.push({ listen: started.url, pid: started.pid, rssIdleKb: idle?.rssKb ?? null, rssEndKb: null, hwmKb: null });
    return started;
  };

  try {
    // The agent first: the baseline gets its request bytes.
    const firstAgentTransport = plan.find((scenario) => scenario.server === 'agent')?.transport ?? 'tcp';
    await ensureAgent(firstAgentTransport);
    if (plan.some((scenario) => scenario.server === 'baseline')) {
      baseline = await startBaseline(join(work, 'baseline.sock'), serverCpu);
    }

    for (const scenario of plan) {
      let target: Target;
      let pid: number;
      let requests: string[];
      let auth: BenchAuth | undefined;
      if (scenario.server === 'baseline') {
        target = scenario.transport === 'tcp' ? baseline!.tcp : baseline!.unix;
        pid = baseline!.pid;
        requests = getRequests(target, agent!.auth, keys);
      } else {
        const running = await ensureAgent(scenario.transport);
        target = running.target;
        pid = running.pid;
        auth = running.auth;
        requests = scenario.operation === 'get' ? getRequests(target, running.auth, keys) : fetchRequests(target, running.auth, keys);
      }
      if (config.quietWaitSeconds > 0) await waitForQuiet(config.quietWaitSeconds * 1000);
      progress(`${scenario.id}: ${scenario.label} over ${scenario.transport}, ${scenario.concurrency} connection(s)`);
      const { result, server, window } = await measure(scenario, target, requests, auth, pid, settings);
      const errors = rowErrors(result);
      rows.push({ scenario, result, window, server, errors, vsBaseline: null });
      if (scenario.server === 'agent') {
        const entry = profileWindows.get(pid) ?? { windows: [], requests: 0 };
        entry.windows.push(window);
        entry.requests += result.completed;
        profileWindows.set(pid, entry);
      }
      if (errors > 0) {
        problems.push(
          `${scenario.id}: ${errors} errors (${JSON.stringify(result.errors.byStatus)} non-200, ${result.errors.transport} transport); first: ${result.errors.firstProblem ?? '?'}`,
        );
      }
      if (result.stalled) problems.push(`${scenario.id}: the load generator stalled (${result.errors.firstProblem ?? 'no detail'})`);
      if (server.otherCpuShare !== null && server.otherCpuShare > NOISY_SHARE) noisyRows.push(scenario.id);
      if (result.slowestSecondRps !== null && result.requestsPerSecond > 0 && result.slowestSecondRps < 0.5 * result.requestsPerSecond) {
        notes.push(
          `${scenario.id}: throughput fell to ${Math.round(result.slowestSecondRps)} req/s in its slowest second ` +
            `(average ${Math.round(result.requestsPerSecond)}): a stall: other processes (see other CPU), GC, or for the agent its key-service refreshes (timeline100ms in the JSON)`,
        );
      }
      if (result.capped) notes.push(`${scenario.id}: hit BENCH_MAX_REQUESTS (${config.maxRequests}); the window was cut short`);
      const current = agent as AgentProcess | null;
      if (scenario.server === 'agent' && current && (current.child.exitCode !== null || current.child.signalCode !== null)) {
        problems.push(`${scenario.id}: keybridge up died under load`);
        break;
      }
    }
    await stopAgent();
  } catch (error) {
    problems.push(`bench error: ${error instanceof Error ? error.message : String(error)}`);
    await stopAgent().catch(() => undefined);
  } finally {
    await baseline?.stop();
  }

  attachBaselineRatios(rows);
  if (noisyRows.length > 0) {
    notes.push(
      `other processes used more than ${NOISY_SHARE * 100}% of a core during ${noisyRows.join(', ')} ('other CPU' column): ` +
        'those rows are disturbed; rerun on a quiet machine (BENCH_QUIET_WAIT=30 waits for one)',
    );
  }
  notes.unshift(
    `the agent's cache TTL (30 s) runs from when an entry was stored; a key read in the last part of it (from 2/3 to 5/6, random per entry) is ` +
      `refreshed in the background while the cached entry serves, so the ${config.keyCount} keys stored together neither expire together nor make ` +
      'a reader wait (agent/record-reader.ts); the refreshes still cost the agent some CPU in any window that meets them (slowest second, p99.9, max)',
  );
  const report: BenchReport = {
    schema: 'keybridge-bench/1',
    date,
    machine: machineInfo(),
    config: {
      warmupSeconds: config.warmupSeconds,
      measureSeconds: config.measureSeconds,
      maxRequests: config.maxRequests,
      keyCount: config.keyCount,
      valueBytes: 40,
      pinning: pinning ? 'server core 0, load generator core 1 (taskset)' : 'none',
      agentLog: config.agentLog === 'file' ? 'file in the temp home' : '/dev/null',
      cpuProfile: config.cpuProfile,
      only: config.only,
      quietWaitSeconds: config.quietWaitSeconds,
      keybridgeBin: config.keybridgeBin ?? 'bin/keybridge.js (this checkout)',
    },
    rows,
    targets: checkTargets(rows),
    agentMemory,
    notes,
    ok: problems.length === 0,
    problems,
  };
  process.stdout.write(formatReport(report));
  const written = writeReport(report);
  process.stdout.write(`JSON: ${written.join(', ')}\n`);

  if (profileDir && existsSync(profileDir)) {
    const files = readdirSync(profileDir).filter((file) => file.endsWith('.cpuprofile'));
    for (const file of files) {
      // CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile
      const pid = Number(/^CPU\.\d+\.\d+\.(\d+)\./.exec(file)?.[1]);
      const entry = profileWindows.get(pid);
      // Thread 0 is the main thread; others (tsx's module-loader worker) get one line.
      if (!/^CPU\.\d+\.\d+\.\d+\.0\./.test(file)) {
        const summary = analyseProfile(JSON.parse(readFileSync(join(profileDir, file), 'utf8')), entry?.windows);
        process.stdout.write(
          `\n${file}: worker thread of pid ${pid}, busy ${summary.busyMs.toFixed(0)} ms inside the measured windows` +
            ` (npx tsx bench/profile-summary.ts FILE for the whole profile)\n`,
        );
        continue;
      }
      process.stdout.write(`\n${summariseProfileFile(join(profileDir, file), entry?.windows, entry?.requests)}\n`);
    }
    if (files.length === 0) process.stdout.write(`\nno .cpuprofile was written to ${profileDir}\n`);
  }

  await cleanup();
  return problems.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  async (error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    await cleanup().catch(() => undefined);
    process.exit(1);
  },
);
