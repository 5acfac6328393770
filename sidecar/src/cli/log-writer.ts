/**
 * The access log of the long-running commands (up, server, agent): one JSON line per
 * request on stderr. Lines are batched and written once per event-loop turn, because a
 * synchronous write per request costs the agent's hot read path 4–24 µs (bench/README.md).
 * Pending lines are flushed on exit, so a crash loses at most the current turn's lines.
 */
export function createLogWriter(stream: NodeJS.WritableStream = process.stderr): (entry: object) => void {
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
  return (entry) => {
    pending.push(`${JSON.stringify({ at: new Date().toISOString(), ...entry })}\n`);
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
}
