/** Memory and CPU of a process from /proc (Linux); null elsewhere or once it has exited. */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export interface Memory {
  /** Resident set size now (VmRSS), KiB. */
  rssKb: number;
  /** Peak resident set size since start (VmHWM), KiB. */
  hwmKb: number;
}

export function readMemory(pid: number): Memory | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const field = (name: string) => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text);
    return match ? Number(match[1]) : NaN;
  };
  const rssKb = field('VmRSS');
  const hwmKb = field('VmHWM');
  return Number.isFinite(rssKb) && Number.isFinite(hwmKb) ? { rssKb, hwmKb } : null;
}

let clockTicks: number | undefined;

function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    const out = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
    const value = Number(out.stdout?.trim());
    clockTicks = Number.isInteger(value) && value > 0 ? value : 100;
  }
  return clockTicks;
}

/** User + system CPU time the process has used, in ms (resolution: one clock tick, usually 10 ms). */
export function readCpuMs(pid: number): number | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // Fields after the command name (which may contain spaces) start after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return null;
  return ((utime + stime) * 1000) / ticksPerSecond();
}

/** Samples VmRSS every `intervalMs` until stopped; returns the largest value seen (KiB). */
export function sampleRss(pid: number, intervalMs = 100): { stop(): number } {
  let peak = readMemory(pid)?.rssKb ?? 0;
  const timer = setInterval(() => {
    const memory = readMemory(pid);
    if (memory && memory.rssKb > peak) peak = memory.rssKb;
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      const memory = readMemory(pid);
      if (memory && memory.rssKb > peak) peak = memory.rssKb;
      return peak;
    },
  };
}

/** CPU time used by every process on the machine (all cores, user+system+irq+steal), in ms. */
export function readMachineBusyMs(): number | null {
  let text: string;
  try {
    text = readFileSync('/proc/stat', 'utf8');
  } catch {
    return null;
  }
  const line = text.split('\n', 1)[0];
  if (!line.startsWith('cpu ')) return null;
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  const busy = user + nice + system + irq + softirq + (steal || 0);
  return Number.isFinite(busy) ? (busy * 1000) / ticksPerSecond() : null;
}

/** CPU time (ms) of each thread of a process, keyed by thread name (threads of one name summed). */
export function readThreadCpuMs(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    } catch {
      continue;
    }
    const name = text.slice(text.indexOf('(') + 1, text.lastIndexOf(')')).trim();
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const ms = ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond();
    if (Number.isFinite(ms)) out.set(name, (out.get(name) ?? 0) + ms);
  }
  return out;
}

/** Per thread name: CPU ms used between two readThreadCpuMs() snapshots (threads born in between count fully). */
export function threadCpuDelta(before: Map<string, number>, after: Map<string, number>): Record<string, number> {
  const delta: Record<string, number> = {};
  for (const [name, ms] of after) {
    const used = ms - (before.get(name) ?? 0);
    if (used > 0) delta[name] = Math.round(used);
  }
  return delta;
}
