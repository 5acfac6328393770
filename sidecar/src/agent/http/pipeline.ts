import type { Socket } from 'node:net';
import { asKeybridgeError, KeybridgeError } from '../../errors.ts';
import { parseJsonObject, requireJsonContentType } from '../../http/json-body.ts';
import { LIMITS, LOCAL_API_AUTH, LOCAL_OPERATIONS } from '../../protocol/local-api.ts';
import { peerName } from '../../protocol/local-auth.ts';
import { ProofChecker } from './auth.ts';
import { requireLoopbackHost } from './host.ts';
import type { ReadOperations } from './routes/keys.ts';

/**
 * The agent's one request pipeline. The agent has two front ends — fast-read-sockets.ts,
 * which answers whole hot reads straight off the socket, and front-node.ts, which takes
 * every request node:http parses — and both hand each request to this object, which alone
 * decides:
 *
 *  - whether it is admitted, in this order: the Host header (loopback names only on TCP:
 *    DNS rebinding), the caller's proof that it holds the token (auth.ts: the first
 *    request of a connection carries one, later requests ride on the connection it
 *    proved), the declared body size (each operation's cap from spec.yaml,
 *    protocol/local-api.ts);
 *  - what the two hot reads (POST /v1/keys/get and /v1/keys/fetch) answer;
 *  - what a failure answers (application/problem+json with its stable type);
 *  - which headers every answer carries (Cache-Control: no-store, and the agent's own
 *    proof when the request carried the client's);
 *  - what the access log records (method, path, status, duration: no header, no body).
 *
 * The front ends only move bytes: framing, keep-alive, Date, handing a connection over.
 * Written for the per-request cost of the hot path (bench/README.md): no closures made per
 * request, headers as a flat array.
 */

export const GET_PATH = LOCAL_OPERATIONS['keys.get'].path;
export const FETCH_PATH = LOCAL_OPERATIONS['keys.fetch'].path;
const PUBLIC_PATHS: ReadonlySet<string> = new Set(
  Object.values(LOCAL_OPERATIONS)
    .filter((op) => !op.auth)
    .map((op) => op.path),
);
/** Each POST operation's body cap; any other path gets the default. */
const BODY_CAPS: ReadonlyMap<string, number> = new Map(
  Object.values(LOCAL_OPERATIONS)
    .filter((op) => op.method === 'POST')
    .map((op) => [op.path, op.maxBodyBytes]),
);
const PROOF_HEADER = LOCAL_API_AUTH.proofHeader;

export interface AccessLogEntry {
  method: string;
  path: string;
  status: number;
  ms: number;
}

/** What a front end knows of a request before its body is read. */
export interface RequestHead {
  method: string;
  /** The request target as sent. */
  path: string;
  host: string | undefined;
  authorization: string | undefined;
  /** The declared Content-Length, if any. */
  contentLength: number | undefined;
}

/** An answer the pipeline made: the front end frames it with `answerHeaders()`. */
export interface Answer {
  status: number;
  contentType: string;
  text: string;
}

export interface PipelineOptions {
  token: string;
  reads: ReadOperations;
  /** Called once per request; sees no headers and no bodies, so it cannot log a secret. */
  log?: (entry: AccessLogEntry) => void;
}

export class RequestPipeline {
  private readonly proofs: ProofChecker;
  private readonly reads: ReadOperations;
  private readonly log: ((entry: AccessLogEntry) => void) | undefined;
  /** Connections whose client has proven it holds the token: their later requests need no proof. */
  private readonly proven = new WeakSet<Socket>();
  /** Set by listen(): a unix socket takes any Host (no browser reaches it), and its clients have no address. */
  private unix = false;

  constructor(options: PipelineOptions) {
    this.proofs = new ProofChecker(options.token);
    this.reads = options.reads;
    this.log = options.log;
  }

  /** Told by listen() once the address is bound: proofs made before now are refused. */
  listening(transport: 'tcp' | 'unix'): void {
    this.unix = transport === 'unix';
    this.proofs.listeningSince(Date.now());
  }

  /** The routes the pipeline answers itself, as `METHOD /path`. */
  routes(): string[] {
    return [`POST ${GET_PATH}`, `POST ${FETCH_PATH}`];
  }

  /** Whether a request is one of the two hot reads this pipeline answers itself. */
  isRead(method: string, path: string): boolean {
    return method === 'POST' && (path === GET_PATH || path === FETCH_PATH);
  }

  /** The largest body a request to `path` may carry. */
  bodyCap(path: string): number {
    return BODY_CAPS.get(path) ?? LIMITS.bodyBytes;
  }

  /**
   * Admits a request on `connection` or throws the problem it gets: the Host, then the
   * caller's proof (or a connection proven before; health needs neither). Returns the
   * agent's proof when the request carried the client's: every answer to it carries that.
   * Then checkBodySize(). Nothing of the body has been read yet, so a refused body never is.
   */
  admit(head: RequestHead, connection: Socket): string | undefined {
    if (!this.unix) requireLoopbackHost(head.host);
    if (head.authorization !== undefined) {
      const proof = this.proofs.verify(head.authorization, head.method, head.path, this.peer(connection));
      this.proven.add(connection);
      return proof;
    }
    if (!this.proven.has(connection) && !PUBLIC_PATHS.has(head.path)) {
      throw new KeybridgeError('unauthorized', `the first request of a connection must carry a ${LOCAL_API_AUTH.scheme} proof`);
    }
    return undefined;
  }

  /** The client end of a connection as its proof names it; a TCP connection that lost its address (reset) proves nothing. */
  private peer(connection: Socket): string {
    if (this.unix) return 'unix';
    const address = connection.remoteAddress;
    if (address === undefined) throw new KeybridgeError('unauthorized', 'the connection has no client address');
    return peerName(address, connection.remotePort);
  }

  /** Refuses a request whose declared body is larger than its operation takes (after admit()). */
  checkBodySize(head: RequestHead): void {
    if (head.contentLength !== undefined && head.contentLength > this.bodyCap(head.path)) {
      throw new KeybridgeError('body-too-large', `at most ${this.bodyCap(head.path)} bytes`);
    }
  }

  /**
   * The answer to an admitted hot read whose body has arrived: JSON, or a problem. At once
   * when every record it needs is cached and fresh (the common case: no promise, no
   * microtask), else a promise of it. Never throws, never rejects.
   */
  read(path: string, contentType: string | undefined, body: string): Answer | Promise<Answer> {
    try {
      requireJsonContentType(contentType);
      const request = parseJsonObject(body);
      const now = path === GET_PATH ? this.reads.getCached(request) : this.reads.fetchCached(request);
      return now === null ? this.later(path, request) : { status: 200, contentType: 'application/json', text: JSON.stringify(now) };
    } catch (error) {
      return this.problem(error);
    }
  }

  /** The answer to any failure: problem+json with its stable type, never quoting a body. */
  problem(error: unknown): Answer {
    const body = asKeybridgeError(error).toProblem();
    return { status: body.status, contentType: 'application/problem+json', text: JSON.stringify(body) };
  }

  /** The headers of an answer the front ends write themselves, in order, as name, value, name, value… */
  answerHeaders(answer: Answer, proof: string | undefined): string[] {
    const length = String(Buffer.byteLength(answer.text));
    return proof === undefined
      ? ['Content-Type', answer.contentType, 'Cache-Control', 'no-store', 'Content-Length', length]
      : ['Content-Type', answer.contentType, 'Cache-Control', 'no-store', PROOF_HEADER, proof, 'Content-Length', length];
  }

  /** The headers every answer of the routed operations carries besides its own (front-node.ts sets them first). */
  commonHeaders(proof: string | undefined): string[] {
    return proof === undefined ? ['Cache-Control', 'no-store'] : ['Cache-Control', 'no-store', PROOF_HEADER, proof];
  }

  /** The access log line of one answered request. */
  logged(method: string, path: string, status: number, started: number): void {
    this.log?.({ method, path, status, ms: performance.now() - started });
  }

  /** A hot read that needs the key service: the same checks again, then the round trip. */
  private async later(path: string, request: Record<string, unknown>): Promise<Answer> {
    try {
      const text = JSON.stringify(path === GET_PATH ? await this.reads.get(request) : await this.reads.fetch(request));
      return { status: 200, contentType: 'application/json', text };
    } catch (error) {
      return this.problem(error);
    }
  }
}
