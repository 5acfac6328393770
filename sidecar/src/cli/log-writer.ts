/**
 * The access log of the long-running commands (up, server, agent): one JSON line per
 * request on stderr. Lines are batched and written once per event-loop turn, because a
 * synchronous write per request costs the agent's hot read path 4–24 µs (bench/README.md).
 * Pending lines are flushed on exit, so a crash loses at most the current turn's lines.
 */
export function createLineWriter(stream: NodeJS.WritableStream = process.stderr): (line: string) => void {
  let pending: string[] = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (pending.length === 0) return;
    const text = pending.join('');
    pending = [];
    stream.write(text);
  };
  process.once('exit', flush);
  return (line) => {
    pending.push(line);
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
}

/** Any entry as `{"at": …, …entry}`: for the rare lines (events, the key service's requests). */
export function createLogWriter(
  stream: NodeJS.WritableStream = process.stderr,
  write: (line: string) => void = createLineWriter(stream),
): (entry: object) => void {
  return (entry) => write(`${JSON.stringify({ at: new Date().toISOString(), ...entry })}\n`);
}

export interface AccessLine {
  method: string;
  path: string;
  status: number;
  ms: number;
}

/**
 * The agent's per-request line, the same text createLogWriter writes for
 * `{ method, path, status, ms }` with ms rounded to 2 decimals — built by hand, because a
 * spread, a JSON.stringify of a fresh object and a Date's toISOString were ~4 µs of every
 * cached read. The timestamp's text up to the second is made once a second.
 */
export function accessLogLine(entry: AccessLine): string {
  const now = Date.now();
  if (now >= secondEnds) {
    secondStarts = now - (now % 1000);
    secondEnds = secondStarts + 1000;
    secondText = new Date(secondStarts).toISOString().slice(0, -4);
  }
  const millis = now - secondStarts;
  return (
    `{"at":"${secondText}${millis < 10 ? '00' : millis < 100 ? '0' : ''}${millis}Z","method":${JSON.stringify(entry.method)},` +
    `"path":${JSON.stringify(entry.path)},"status":${entry.status},"ms":${Math.round(entry.ms * 100) / 100}}\n`
  );
}

let secondStarts = 0;
let secondEnds = 0;
let secondText = '';
