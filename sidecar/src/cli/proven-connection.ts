import { Agent as HttpAgent, type AgentOptions, type ClientRequestArgs } from 'node:http';
import type { Duplex } from 'node:stream';
import { connect, type Socket } from 'node:net';
import { LOCAL_API_AUTH, LOCAL_OPERATIONS } from '../protocol/local-api.ts';
import { macsEqual, peerName, type ProofKey, signRequest } from '../protocol/local-auth.ts';
import { CliError } from './errors.ts';

/**
 * Connections to the agent on which nothing secret is sent before the agent has proven it
 * holds the token (spec.yaml `auth`, README "Security model"). Every connection this
 * http.Agent hands to a request has passed a handshake first: `GET /v1/health` carrying the
 * client's proof, whose answer must carry the agent's proof for that nonce and this
 * connection. A process that holds the agent's address while the agent is down gets that
 * health request — a nonce, a time and a MAC it can neither use nor replay — and nothing else:
 * the handshake fails, the connection is closed, no request goes out.
 */
export interface AgentTarget {
  /** unix socket path, or host and port. */
  socketPath?: string;
  host?: string;
  port?: number;
  /** The agent's address as the user gave it, for messages. */
  display: string;
}

const HEALTH = LOCAL_OPERATIONS.health;
const HANDSHAKE_TIMEOUT_MS = 10_000;
const MAX_HANDSHAKE_ANSWER = 16 * 1024;

export class ProvenConnections extends HttpAgent {
  constructor(
    private readonly target: AgentTarget,
    private readonly key: () => ProofKey,
    options: AgentOptions = {},
  ) {
    super({ keepAlive: true, ...options });
  }

  /** node:http asks for a new connection: it gets one only once the handshake succeeded. */
  override createConnection(_options: ClientRequestArgs, callback?: (error: Error | null, stream: Duplex) => void): undefined {
    // node:http always passes the callback (Agent.createSocket); a missing one is a caller's bug.
    const done = callback as (error: Error | null, stream?: Duplex) => void;
    let key: ProofKey;
    try {
      key = this.key();
    } catch (error) {
      done(error as Error);
      return undefined;
    }
    const { socketPath, host, port } = this.target;
    const socket = socketPath ? connect(socketPath) : connect(port ?? 80, host);
    socket.setNoDelay(true);
    let settled = false;
    const finish = (error: Error | null) => {
      if (settled) return;
      settled = true;
      socket.setTimeout(0);
      socket.off('error', finish);
      if (error) {
        socket.destroy();
        done(error);
      } else {
        done(null, socket);
      }
    };
    socket.once('error', (error) => finish(new CliError(`cannot reach the agent at ${this.target.display}: ${error.message}`)));
    socket.setTimeout(HANDSHAKE_TIMEOUT_MS, () => finish(new CliError(`the agent at ${this.target.display} did not answer`)));
    socket.once('connect', () => {
      handshake(socket, key, this.target).then(
        () => finish(null),
        (error: Error) => finish(error),
      );
    });
    return undefined;
  }
}

/** Sends the proof on a new connection and checks the agent's answer to it. */
export function handshake(socket: Socket, key: ProofKey, target: AgentTarget): Promise<void> {
  const peer = target.socketPath ? 'unix' : peerName(socket.localAddress, socket.localPort);
  const signed = signRequest(key, HEALTH.method, HEALTH.path, peer);
  const hostHeader = target.socketPath ? 'localhost' : `${target.host?.includes(':') ? `[${target.host}]` : target.host}:${target.port}`;
  socket.write(`${HEALTH.method} ${HEALTH.path} HTTP/1.1\r\nHost: ${hostHeader}\r\nAuthorization: ${signed.authorization}\r\n\r\n`);
  return readAnswerHead(socket, target).then(({ status, proof }) => {
    if (macsEqual(signed.expectedProof, proof) && status === 200) return;
    throw status === 401 && proof === undefined
      ? refusal(
          'unauthorized',
          `the agent at ${target.display} did not accept the proof made with the token file (or another process holds that address)`,
        )
      : refusal(
          'agent-unproven',
          `the process at ${target.display} did not prove that it holds the agent token: another process may hold the agent's address, or the token file is not this agent's`,
        );
  });
}

/**
 * The status and proof header of the handshake's answer, with its body (Content-Length
 * framed: the agent's answers are) read and dropped, so the socket is at a clean boundary.
 */
function readAnswerHead(socket: Socket, target: AgentTarget): Promise<{ status: number; proof: string | undefined }> {
  return new Promise((resolve, reject) => {
    let buffer = Buffer.alloc(0);
    const fail = (reason: string) => {
      socket.off('data', onData);
      socket.off('close', onClose);
      reject(refusal('agent-unproven', `the process at ${target.display} answered something that is not the agent's API (${reason})`));
    };
    const onData = (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (buffer.length > MAX_HANDSHAKE_ANSWER) return fail('too long');
      const headEnd = buffer.indexOf('\r\n\r\n');
      if (headEnd < 0) return;
      const lines = buffer.toString('latin1', 0, headEnd).split('\r\n');
      const status = /^HTTP\/1\.1 ([0-9]{3}) /.exec(lines[0]);
      if (!status) return fail('no HTTP/1.1 status line');
      const headers = new Map<string, string>();
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(':');
        if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
      }
      const length = headers.get('content-length');
      if (length === undefined || !/^[0-9]{1,5}$/.test(length)) return fail('no Content-Length');
      const end = headEnd + 4 + Number(length);
      if (buffer.length < end) return;
      socket.off('data', onData);
      socket.off('close', onClose);
      if (buffer.length > end) return fail('more bytes than the answer');
      resolve({ status: Number(status[1]), proof: headers.get(LOCAL_API_AUTH.proofHeader.toLowerCase()) });
    };
    const onClose = () => {
      socket.off('data', onData);
      reject(refusal('agent-unproven', `the process at ${target.display} closed the connection instead of proving that it is the agent`));
    };
    socket.on('data', onData);
    socket.once('close', onClose);
  });
}

/** A handshake failure: one line naming its type, as the agent's own problems do. */
function refusal(type: 'unauthorized' | 'agent-unproven', message: string): CliError {
  return new CliError(`${message} [${type}]`, type);
}
