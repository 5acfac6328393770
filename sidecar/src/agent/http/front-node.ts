import { getRequestListener } from '@hono/node-server';
import type { Hono } from 'hono';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readNodeBody } from '../../http/json-body.ts';
import type { Answer, RequestPipeline } from './pipeline.ts';

/**
 * The node:http front end: every request node:http parses (all but the whole hot reads the
 * socket front end answers, fast-read-sockets.ts) comes here. The pipeline admits it or
 * not; an admitted hot read is answered by the pipeline, anything else goes to the hono
 * routes (app.ts) with the pipeline's headers already set and its log line written when the
 * answer is done. This file only adapts node:http's request and response objects.
 */
export function nodeFrontEnd(pipeline: RequestPipeline, app: Hono): (req: IncomingMessage, res: ServerResponse) => void {
  const routed = getRequestListener(app.fetch);

  function send(res: ServerResponse, method: string, path: string, started: number, answer: Answer, proof: string | undefined): void {
    res.writeHead(answer.status, pipeline.answerHeaders(answer, proof));
    res.end(answer.text);
    pipeline.logged(method, path, answer.status, started);
  }

  async function read(req: IncomingMessage, res: ServerResponse, path: string, started: number, proof: string | undefined): Promise<void> {
    let body: string;
    try {
      body = await readNodeBody(req, res, pipeline.bodyCap(path));
    } catch (error) {
      send(res, 'POST', path, started, pipeline.problem(error), proof);
      return;
    }
    send(res, 'POST', path, started, await pipeline.read(path, req.headers['content-type'], body), proof);
  }

  return (req, res) => {
    const started = performance.now();
    const method = req.method ?? '';
    const url = req.url ?? '';
    // The path without a query: a query is never read (no token or secret goes in a URL) and never logged.
    const query = url.indexOf('?');
    const path = query < 0 ? url : url.slice(0, query);
    const declared = req.headers['content-length'];
    const contentLength = declared === undefined ? undefined : Number(declared);
    const head = { method, path, host: req.headers.host, authorization: req.headers.authorization, contentLength };
    let proof: string | undefined;
    try {
      proof = pipeline.admit(head, req.socket);
      pipeline.checkBodySize(head);
    } catch (error) {
      // A refused body is never read: drained, so the connection stays usable, unless it is
      // too large (then the connection closes instead, and the answer says so).
      if (contentLength !== undefined && contentLength > pipeline.bodyCap(path)) res.shouldKeepAlive = false;
      else req.resume();
      send(res, method, path, started, pipeline.problem(error), proof);
      return;
    }
    if (pipeline.isRead(method, path)) {
      void read(req, res, path, started, proof);
      return;
    }
    const headers = pipeline.commonHeaders(proof);
    for (let i = 0; i < headers.length; i += 2) res.setHeader(headers[i], headers[i + 1]);
    res.once('finish', () => pipeline.logged(method, path, res.statusCode, started));
    void routed(req, res);
  };
}
