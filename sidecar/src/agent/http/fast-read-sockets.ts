import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { FETCH_PATH, GET_PATH, type Answer, type RequestPipeline } from './pipeline.ts';
import { parseReadRequest } from './strict-request.ts';

/**
 * The socket front end of the request pipeline (pipeline.ts): the hot read routes served
 * straight off the socket. A page's read is one small request
 * written whole (PHP's client writes head and body in one fwrite); node:http would build a
 * request and a response object for it, which costs more than the read itself. So each
 * connection starts here: while every request on it is one strict-request.ts recognises,
 * complete in what was read, it is answered here, in order, with the bytes node:http would
 * send (status line, the same headers, Date, Connection, Keep-Alive). The first request that
 * is anything else — another route, a split or chunked or oversized body, an odd header —
 * hands the connection, with every byte not yet answered, to node:http for good. So node:http
 * keeps every limit and timeout it has for partial and unusual requests; here a connection
 * only ever waits between requests (the keep-alive timeout) or for its own answer.
 */

export interface FastReadSocketsOptions {
  pipeline: RequestPipeline;
  /** node:http's own connection listener: takes the socket from here on. */
  handOff: (socket: Socket) => void;
  keepAliveTimeoutMs: number;
}

export function fastReadSockets(options: FastReadSocketsOptions) {
  const { pipeline, handOff } = options;
  // What the parser may take whole; the pipeline then holds each request to its own route's cap.
  const maxBody = Math.max(pipeline.bodyCap(GET_PATH), pipeline.bodyCap(FETCH_PATH));
  const keepAlive = `Connection: keep-alive\r\nKeep-Alive: timeout=${Math.floor(options.keepAliveTimeoutMs / 1000)}\r\n\r\n`;
  const open = new Set<Connection>();

  // Idle connections are closed by one sweep, not a timer per socket: node re-arms a
  // socket's timer on every read and write (~2 µs of each cached read). A connection is
  // closed after more than the keep-alive timeout without a byte (at most one sweep later).
  const sweepMs = Math.max(10, Math.min(1000, Math.floor(options.keepAliveTimeoutMs / 4)));
  let sweep: NodeJS.Timeout | null = null;
  function sweepIdle(): void {
    for (const connection of open) {
      if (!connection.busy && ++connection.idleSweeps * sweepMs > options.keepAliveTimeoutMs) connection.socket.destroy();
    }
  }

  // node:http's Date header, recomputed once a second as node does.
  let date = '';
  let dateUntil = 0;
  function dateHeader(): string {
    const now = Date.now();
    if (now >= dateUntil) {
      date = new Date(now).toUTCString();
      dateUntil = now - (now % 1000) + 1000;
    }
    return date;
  }

  /** One connection's state; methods instead of per-request closures (the hot path). */
  class Connection {
    socket: Socket;
    /** Bytes read and not yet answered (null: none). */
    pending: Buffer | null = null;
    /** An answer is being made, or could not be written yet: later requests wait. */
    busy = false;
    handedOver = false;
    /** The client ended its side: close ours once the answers to what it sent are out. */
    ended = false;
    /** Sweeps since the last byte read. */
    idleSweeps = 0;
    onData: (chunk: Buffer) => void;
    onEnd: () => void;
    onClose: () => void;
    onDrain: () => void;

    constructor(socket: Socket) {
      this.socket = socket;
      this.onData = (chunk) => this.received(chunk);
      this.onEnd = () => this.clientEnded();
      this.onClose = () => open.delete(this);
      this.onDrain = () => this.resume();
      socket.on('data', this.onData);
      socket.on('end', this.onEnd);
      socket.on('close', this.onClose);
      socket.on('error', noop);
      open.add(this);
    }

    received(chunk: Buffer): void {
      this.idleSweeps = 0;
      this.pending = this.pending === null ? chunk : Buffer.concat([this.pending, chunk]);
      if (!this.busy) this.serve();
    }

    /** Answers the pending requests in order until one must wait, or node:http takes over. */
    serve(): void {
      while (this.pending !== null && !this.busy) {
        const request = parseReadRequest(this.pending, 0, maxBody);
        if (request === null) {
          if (this.ended) this.refuseAfterEnd();
          else this.handOver();
          return;
        }
        this.pending = request.end === this.pending.length ? null : this.pending.subarray(request.end);
        const started = performance.now();
        let answer: Answer | Promise<Answer>;
        let proof: string | undefined;
        try {
          proof = pipeline.admit(request, this.socket);
          pipeline.checkBodySize(request);
          answer = pipeline.read(request.path, request.contentType, request.body);
        } catch (error) {
          answer = pipeline.problem(error);
        }
        if (answer instanceof Promise) {
          // Later requests wait (unread in the socket, or in `pending`) so that answers go
          // out in the order of their requests.
          this.busy = true;
          this.socket.pause();
          void answer.then((value) => this.send(request.path, started, value, proof));
        } else {
          this.send(request.path, started, answer, proof);
        }
      }
      if (this.ended && !this.busy) this.socket.end();
    }

    send(path: string, started: number, answer: Answer, proof: string | undefined): void {
      const socket = this.socket;
      if (socket.destroyed) return;
      // node:http's bytes for res.writeHead(status, headers) with the pipeline's headers.
      const headers = pipeline.answerHeaders(answer, proof);
      let head = `HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status]}\r\n`;
      for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
      const written = socket.write(`${head}Date: ${dateHeader()}\r\n${keepAlive}${answer.text}`);
      pipeline.logged('POST', path, answer.status, started);
      if (!written) {
        // The client is not reading its answers: stop serving it until it does.
        this.busy = true;
        socket.pause();
        socket.once('drain', this.onDrain);
      } else if (this.busy) {
        this.resume();
      }
    }

    resume(): void {
      this.busy = false;
      this.serve();
      if (!this.busy && this.handedOver === false) this.socket.resume();
    }

    clientEnded(): void {
      this.ended = true;
      // Idle, nothing is pending (an incomplete request is handed over as it comes): close.
      // Busy, the answers still owed are written first (serve() closes after them).
      if (!this.busy) this.socket.end();
    }

    /**
     * A client that pipelined a request this path does not serve behind one whose answer was
     * pending, and then ended its side: node:http can no longer take the connection (its
     * end was read here), so it gets node:http's answer to a request it cannot read.
     */
    refuseAfterEnd(): void {
      this.pending = null;
      this.socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    }

    /** From here on node:http reads this connection, starting with the bytes not yet answered. */
    handOver(): void {
      const socket = this.socket;
      socket.off('data', this.onData);
      socket.off('end', this.onEnd);
      socket.off('close', this.onClose);
      socket.off('error', noop);
      open.delete(this);
      // Paused, the bytes put back stay first in line: node:http's listener reads them
      // before anything the socket reads next (it resumes the socket below, and reads
      // arriving later come after what is buffered).
      socket.pause();
      if (this.pending !== null) socket.unshift(this.pending);
      this.pending = null;
      this.handedOver = true;
      handOff(socket);
      socket.resume();
    }
  }

  return {
    accept(socket: Socket): void {
      // Started by the first connection, so a listener that never listened leaves no timer.
      sweep ??= setInterval(sweepIdle, sweepMs).unref();
      new Connection(socket);
    },
    /** Closes every connection still served here (node:http closes the ones it took). */
    closeAll(): void {
      if (sweep !== null) clearInterval(sweep);
      sweep = null;
      for (const connection of open) connection.socket.destroy();
      open.clear();
    },
  };
}

function noop(): void {}
