import type { Socket } from 'node:net';

/**
 * Splits keep-alive HTTP/1.1 answers out of a socket's bytes for the small A/B tools
 * (cpu-ab.ts, refresh-dips.ts): answers with a Content-Length body, one request in flight
 * per socket. Calls `onAnswer` with each answer's status line and head. The load generator
 * (loadgen.ts) has its own stricter parser, since it also times and checks every answer.
 */
export function onAnswers(socket: Socket, onAnswer: (statusLine: string, head: string) => void): void {
  let buffer: Buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
    for (;;) {
      const end = buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buffer.subarray(0, end).toString('latin1');
      const length = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
      if (buffer.length < end + 4 + length) return;
      buffer = buffer.subarray(end + 4 + length);
      onAnswer(head.split('\r\n')[0], head);
    }
  });
}
