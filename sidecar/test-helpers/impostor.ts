import { existsSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { ListenAddress } from '../src/config/listen.ts';

/**
 * A process that holds the agent's address while the agent is down, as an attacker on the
 * host would: it records every byte every client sends and answers every request with a
 * plausible keep-alive 200 — JSON, and a Keybridge-Proof header it cannot have made — to lure
 * the client into sending more.
 */
export interface Impostor {
  /** Every connection's bytes, in the order the connections came. */
  connections(): Buffer[];
  /** All bytes received. */
  bytes(): Buffer;
  /** The client addresses it saw (TCP), one per connection. */
  peers(): { address: string; port: number }[];
  /** The distinct request lines it received, sorted. */
  requestLines(): string[];
  close(): Promise<void>;
}

const LURE = JSON.stringify({ status: 'ok', version: '0.1.0', site_id: 'site', environment: 'development', cache_ttl_ms: 30000, keys: [] });

export async function startImpostor(address: ListenAddress): Promise<Impostor> {
  const recorded: { bytes: Buffer[]; peer: { address: string; port: number } }[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    const record = { bytes: [] as Buffer[], peer: { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 } };
    recorded.push(record);
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      record.bytes.push(chunk);
      pending = Buffer.concat([pending, chunk]);
      for (;;) {
        const headEnd = pending.indexOf('\r\n\r\n');
        if (headEnd < 0) return;
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(pending.toString('latin1', 0, headEnd))?.[1] ?? 0);
        if (pending.length < headEnd + 4 + length) return;
        pending = pending.subarray(headEnd + 4 + length);
        socket.write(
          `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nCache-Control: no-store\r\nKeybridge-Proof: ${randomBytes(16).toString('base64url')}\r\n` +
            `Content-Length: ${LURE.length}\r\nConnection: keep-alive\r\n\r\n${LURE}`,
        );
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    if (address.kind === 'unix') {
      if (existsSync(address.path)) unlinkSync(address.path);
      server.listen(address.path, () => resolve());
    } else {
      server.listen(address.port, address.host, () => resolve());
    }
  });
  return {
    connections: () => recorded.map((record) => Buffer.concat(record.bytes)),
    bytes: () => Buffer.concat(recorded.flatMap((record) => record.bytes)),
    peers: () => recorded.map((record) => record.peer),
    requestLines: () => {
      const text = Buffer.concat(recorded.flatMap((record) => record.bytes)).toString('latin1');
      return [...new Set(text.split('\r\n').filter((line) => /^(GET|POST) /.test(line)))].sort();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** The agent token and a KEK as a leak scan looks for them: as text, and as the bytes they encode. */
export function tokenAndKek(token: string, kek: string): Record<string, Buffer | string> {
  return {
    token,
    'token bytes': Buffer.from(token, 'base64url'),
    KEK: kek,
    'KEK bytes': Buffer.from(kek.slice('kb1$'.length), 'base64url'),
  };
}

/**
 * The ways a secret can show in bytes a client sent: as is, hex (either case), and base64
 * or base64url at each of the three alignments it can take inside a longer encoded text.
 * Returns the names of the secrets found.
 */
export function leakedSecrets(haystack: Buffer, secrets: Record<string, Buffer | string>): string[] {
  const text = haystack.toString('latin1');
  const found: string[] = [];
  for (const [name, secret] of Object.entries(secrets)) {
    const bytes = Buffer.isBuffer(secret) ? secret : Buffer.from(secret, 'utf8');
    if (encodings(bytes).some((encoded) => text.includes(encoded))) found.push(name);
  }
  return found;
}

function encodings(bytes: Buffer): string[] {
  const out = [bytes.toString('latin1'), bytes.toString('hex'), bytes.toString('hex').toUpperCase()];
  for (let shift = 0; shift < 3; shift++) {
    // Shifted by `shift` bytes, the encoding's first and last characters depend on
    // neighbours; the characters in between are the secret's alone.
    const encoded = Buffer.concat([Buffer.alloc(shift), bytes]).toString('base64');
    const inner = encoded.slice(Math.ceil((8 * shift) / 6), Math.floor((8 * (shift + bytes.length)) / 6));
    if (inner.length >= 8) out.push(inner, inner.replace(/\+/g, '-').replace(/\//g, '_'));
  }
  return out;
}
