/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`, see BENCH_CPU_PROF in bench/config.ts):
 * where the busy time goes, by component (node's http, hono, @hono/node-server, keybridge's
 * own modules, GC …), the hottest functions by self time, and the heaviest by inclusive time.
 *
 *   npx tsx bench/profile-summary.ts bench/results/profiles/<timestamp>/<file>.cpuprofile
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export function component(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (url === '') {
    if (functionName === '(idle)') return '(idle)';
    if (functionName === '(garbage collector)') return '(garbage collector)';
    if (functionName === '(program)') return '(program: V8/native, unattributed)';
    if (functionName === '(root)') return '(root)';
    return 'V8 builtins / native';
  }
  if (url.startsWith('node:')) {
    const path = url.slice('node:'.length).replace(/^internal\//, '');
    const top = path.split('/')[0];
    if (['_http_server', '_http_common', '_http_outgoing', '_http_incoming', 'http', 'http2'].includes(top)) return 'node: http';
    if (['net', 'stream', 'streams', 'stream_base_commons', 'timers', 'event_target', 'events', 'buffer'].includes(top)) {
      return `node: ${top}`;
    }
    if (top === 'webstreams' || path.startsWith('deps/undici') || top === 'deps') return 'node: web streams / undici (Request, Response)';
    if (top === 'crypto') return 'node: crypto';
    return `node: ${top}`;
  }
  const nodeModules = url.lastIndexOf('/node_modules/');
  if (nodeModules >= 0) {
    const rest = url.slice(nodeModules + '/node_modules/'.length).split('/');
    const pkg = rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
    return pkg;
  }
  const src = url.indexOf('/sidecar/src/');
  if (src >= 0) {
    const parts = url.slice(src + '/sidecar/src/'.length).split('/');
    return `keybridge: ${parts.length > 1 ? parts.slice(0, -1).join('/') : parts[0]}`;
  }
  return url.replace(/^file:\/\//, '');
}

function shortUrl(url: string): string {
  if (url === '') return '';
  const nodeModules = url.lastIndexOf('/node_modules/');
  if (nodeModules >= 0) return url.slice(nodeModules + '/node_modules/'.length);
  const src = url.indexOf('/sidecar/src/');
  if (src >= 0) return url.slice(src + 1);
  return url.replace(/^file:\/\//, '');
}

function functionKey(frame: CallFrame): string {
  const name = frame.functionName || '(anonymous)';
  const where = shortUrl(frame.url);
  return where ? `${name}  ${where}:${frame.lineNumber + 1}` : name;
}

export interface ProfileSummary {
  totalMs: number;
  busyMs: number;
  components: [string, number][];
  selfTop: [string, number][];
  inclusiveTop: [string, number][];
}

/** A time span in the monotonic clock, µs (V8 profile timestamps and process.hrtime share it on Linux). */
export interface Window {
  startUs: number;
  endUs: number;
}

/**
 * Analyses the samples taken inside `windows` (all samples when none is given), so start-up
 * and set-up do not dilute the per-request picture.
 */
export function analyseProfile(profile: CpuProfile, windows?: readonly Window[]): ProfileSummary {
  const byId = new Map<number, ProfileNode>();
  for (const node of profile.nodes) byId.set(node.id, node);
  const selfUs = new Map<number, number>();
  // timeDeltas[i] is the time before sample i; the time spent *in* sample i is timeDeltas[i + 1].
  let at = profile.startTime;
  for (let index = 0; index < profile.samples.length; index++) {
    at += profile.timeDeltas[index] ?? 0;
    if (windows && windows.length > 0 && !windows.some((window) => at >= window.startUs && at < window.endUs)) continue;
    const delta = profile.timeDeltas[index + 1] ?? 0;
    const id = profile.samples[index];
    selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
  }
  const totalUs = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const components = new Map<string, number>();
  const selfByFunction = new Map<string, number>();
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)!.callFrame;
    const group = component(frame);
    if (group === '(idle)') idleUs += us;
    components.set(group, (components.get(group) ?? 0) + us);
    const key = functionKey(frame);
    selfByFunction.set(key, (selfByFunction.get(key) ?? 0) + us);
  }

  // Inclusive time per function, counting each function once per stack (recursion-safe).
  const inclusive = new Map<string, number>();
  const subtree = new Map<number, number>();
  const total = (id: number): number => {
    const cached = subtree.get(id);
    if (cached !== undefined) return cached;
    let sum = selfUs.get(id) ?? 0;
    for (const child of byId.get(id)?.children ?? []) sum += total(child);
    subtree.set(id, sum);
    return sum;
  };
  const active = new Map<string, number>();
  const root = profile.nodes[0];
  const stack: { id: number; leaving: boolean }[] = [{ id: root.id, leaving: false }];
  while (stack.length > 0) {
    const { id, leaving } = stack.pop()!;
    const key = functionKey(byId.get(id)!.callFrame);
    if (leaving) {
      const depth = active.get(key)! - 1;
      if (depth === 0) active.delete(key);
      else active.set(key, depth);
      continue;
    }
    if (!active.has(key)) inclusive.set(key, (inclusive.get(key) ?? 0) + total(id));
    active.set(key, (active.get(key) ?? 0) + 1);
    stack.push({ id, leaving: true });
    for (const child of byId.get(id)?.children ?? []) stack.push({ id: child, leaving: false });
  }

  const ms = (entries: Iterable<[string, number]>) =>
    [...entries].map(([key, us]) => [key, us / 1000] as [string, number]).sort((a, b) => b[1] - a[1]);
  const skip = new Set(['(root)', '(idle)', '(program)', '(garbage collector)']);
  return {
    totalMs: totalUs / 1000,
    busyMs: (totalUs - idleUs) / 1000,
    components: ms(components).filter(([key]) => key !== '(idle)' && key !== '(root)'),
    selfTop: ms(selfByFunction)
      .filter(([key]) => !skip.has(key))
      .slice(0, 25),
    inclusiveTop: ms(inclusive)
      .filter(([key]) => !skip.has(key) && !key.startsWith('processTicksAndRejections') && !key.startsWith('listOnTimeout'))
      .slice(0, 30),
  };
}

export function formatProfileSummary(path: string, summary: ProfileSummary, requests?: number, windowed = false): string {
  const lines: string[] = [];
  const share = (value: number) => `${((value / summary.busyMs) * 100).toFixed(1).padStart(5)}%`;
  const perRequest = (value: number) => (requests ? `  ${((value * 1000) / requests).toFixed(2).padStart(7)} µs/req` : '');
  lines.push(`profile ${path}`);
  lines.push(
    `  ${windowed ? 'inside the measured windows only: ' : 'whole process lifetime (start-up included): '}` +
      `sampled ${summary.totalMs.toFixed(0)} ms, busy (not idle) ${summary.busyMs.toFixed(0)} ms` +
      (requests ? `, ${requests.toLocaleString('en-US')} requests served (µs/req = busy time ÷ requests)` : ''),
  );
  lines.push('  busy time by component:');
  for (const [key, value] of summary.components.slice(0, 20)) {
    lines.push(`    ${share(value)}  ${value.toFixed(0).padStart(6)} ms${perRequest(value)}  ${key}`);
  }
  lines.push('  top functions by self time:');
  for (const [key, value] of summary.selfTop) lines.push(`    ${share(value)}  ${value.toFixed(0).padStart(6)} ms  ${key}`);
  lines.push('  top functions by inclusive time:');
  for (const [key, value] of summary.inclusiveTop) lines.push(`    ${share(value)}  ${value.toFixed(0).padStart(6)} ms  ${key}`);
  return lines.join('\n');
}

export function summariseProfileFile(path: string, windows?: readonly Window[], requests?: number): string {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const windowed = windows !== undefined && windows.length > 0;
  return formatProfileSummary(path, analyseProfile(profile, windowed ? windows : undefined), windowed ? requests : undefined, windowed);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const files = process.argv.slice(2);
  if (files.length === 0) {
    console.error('usage: npx tsx bench/profile-summary.ts FILE.cpuprofile [...]');
    process.exit(2);
  }
  for (const file of files) console.log(summariseProfileFile(file));
}
