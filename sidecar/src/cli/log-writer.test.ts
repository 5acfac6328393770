import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { accessLogLine, createLogWriter } from './log-writer.ts';

describe('access log lines', () => {
  it('are the JSON line createLogWriter writes for the same entry, with ms to 2 decimals', () => {
    const paths = ['/v1/keys/get', '/v1/keys/"quoted"\\', '/v1/ünï/😀', '/v1/\u0000\n\u2028', ''];
    const durations = [0, 0.004, 0.005, 0.1234, 1, 12.345678, 65_000.999, 1e-7];
    for (const path of paths) {
      for (const ms of durations) {
        const entry = { method: 'POST', path, status: 200, ms };
        const line = accessLogLine(entry);
        expect(line.endsWith('\n')).toBe(true);
        const parsed = JSON.parse(line);
        expect(Object.keys(parsed)).toEqual(['at', 'method', 'path', 'status', 'ms']);
        const { at, ...rest } = parsed;
        expect(at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
        expect(Math.abs(Date.parse(at) - Date.now())).toBeLessThan(1000);
        expect(rest).toEqual({ ...entry, ms: Math.round(ms * 100) / 100 });
        // Byte for byte what the generic writer makes of it (its own timestamp aside).
        expect(line.replace(/"at":"[^"]+"/, '"at":""')).toBe(`${JSON.stringify({ at: '', ...entry, ms: Math.round(ms * 100) / 100 })}\n`);
      }
    }
  });

  it('stamps each line with the time it was made, to the millisecond', async () => {
    for (let round = 0; round < 20; round++) {
      const before = Date.now();
      const at = Date.parse(JSON.parse(accessLogLine({ method: 'GET', path: '/', status: 200, ms: 1 })).at);
      expect(at).toBeGreaterThanOrEqual(before);
      expect(at).toBeLessThanOrEqual(Date.now());
      await new Promise((resolve) => setTimeout(resolve, round * 7));
    }
  });

  it('batches lines into one write per event-loop turn', async () => {
    const stream = new PassThrough();
    const writes: string[] = [];
    stream.on('data', (chunk) => writes.push(String(chunk)));
    const log = createLogWriter(stream);
    log({ event: 'one' });
    log({ event: 'two' });
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(writes).toHaveLength(1);
    expect(
      writes[0]
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line).event),
    ).toEqual(['one', 'two']);
  });
});
