import { connect, type Socket } from 'node:net';
import { peerName, ProofKey, signRequest } from '../src/protocol/local-auth.ts';

/**
 * Raw HTTP/1.1 on a socket to an agent, for tests that must control every byte a request
 * carries (which front end answers, how a request is split) and see every byte of the
 * answer.
 */
export interface RawAnswer {
  status: number;
  /** Status line and headers, without the blank line. */
  head: string;
  body: string;
}

/** A connected socket to `http://HOST:PORT` or `unix:/path`, without Nagle's delay. */
export async function openSocket(url: string): Promise<Socket> {
  let socket: Socket;
  if (url.startsWith('unix:')) {
    socket = connect(url.slice('unix:'.length));
  } else {
    const parsed = new URL(url);
    socket = connect(Number(parsed.port), parsed.hostname.replace(/^\[|\]$/g, ''));
    socket.setNoDelay(true);
  }
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  return socket;
}

/** Reads HTTP/1.1 answers (Content-Length framed) off a socket until `count` have come or it closes. */
export function readAnswers(socket: Socket, count: number, timeoutMs = 5_000): Promise<{ answers: RawAnswer[]; closed: boolean }> {
  return new Promise((resolve, reject) => {
    let buffer = Buffer.alloc(0);
    const answers: RawAnswer[] = [];
    let closed = false;
    const timer = setTimeout(() => reject(new Error(`${answers.length} of ${count} answers within ${timeoutMs} ms`)), timeoutMs);
    const finish = () => {
      clearTimeout(timer);
      socket.off('data', onData);
      resolve({ answers, closed });
    };
    const onData = (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const headEnd = buffer.indexOf('\r\n\r\n');
        if (headEnd < 0) return;
        const head = buffer.toString('latin1', 0, headEnd);
        const length = Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1] ?? 0);
        if (buffer.length < headEnd + 4 + length) return;
        answers.push({ status: Number(head.split(' ')[1]), head, body: buffer.toString('utf8', headEnd + 4, headEnd + 4 + length) });
        buffer = buffer.subarray(headEnd + 4 + length);
        if (answers.length === count) return finish();
      }
    };
    socket.on('data', onData);
    socket.once('close', () => {
      closed = true;
      finish();
    });
  });
}

/** An answer with its Date header blanked, for comparing answers made at different times. */
export function withoutDate(answer: RawAnswer): RawAnswer {
  return { ...answer, head: answer.head.replace(/\r\nDate: [^\r]+/, '\r\nDate: -') };
}

/** An answer without what differs between two equal requests: its Date, and the agent's proof (it answers a fresh nonce). */
export function comparable(answer: RawAnswer): RawAnswer {
  const dated = withoutDate(answer);
  return { ...dated, head: dated.head.replace(/\r\nKeybridge-Proof: [^\r]+/, '\r\nKeybridge-Proof: -') };
}

/** A request's bytes: the request line, header lines (in order) and the body. */
export function rawRequest(line: string, headers: [string, string][], body = ''): Buffer {
  const head = headers.map(([name, value]) => `${name}: ${value}\r\n`).join('');
  return Buffer.concat([Buffer.from(`${line}\r\n${head}\r\n`, 'latin1'), Buffer.from(body, 'utf8')]);
}

/**
 * The Authorization header a client sends as the first request of the connection `socket`
 * (to an agent at `url`), and the agent proof the answer must carry (protocol/local-auth.ts).
 */
export function signOn(socket: Socket, url: string, token: string, method: string, path: string) {
  const peer = url.startsWith('unix:') ? 'unix' : peerName(socket.localAddress, socket.localPort);
  return signRequest(new ProofKey(token), method, path, peer);
}
