import { request } from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ProofKey } from '../protocol/local-auth.ts';
import { CliError } from './errors.ts';
import { ProvenConnections, type AgentTarget } from './proven-connection.ts';

/**
 * The CLI's client for the agent's local API: the same HTTP calls the PHP shims make.
 * It finds the agent from --agent / KEYBRIDGE_AGENT and the token from --token-file /
 * KEYBRIDGE_TOKEN_FILE, else from the home of `keybridge up` (--home / KEYBRIDGE_HOME /
 * ~/.keybridge), where `up` writes agent.url and agent.token. The token never leaves this
 * process: every connection proves it holds it, and is proven by the agent, before any
 * request goes out on it (proven-connection.ts).
 */
export interface AgentLocation {
  url: string;
  tokenFile: string;
}

/** An answer as it came, for callers (tests) that look at more than the JSON. */
export interface RawAgentAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

export function defaultHome(explicit?: string): string {
  return explicit ?? process.env.KEYBRIDGE_HOME ?? join(homedir(), '.keybridge');
}

export function locateAgent(values: { agent?: string; 'token-file'?: string; home?: string }): AgentLocation {
  const home = defaultHome(values.home);
  let url = values.agent ?? process.env.KEYBRIDGE_AGENT;
  if (!url) {
    const urlFile = join(home, 'agent.url');
    if (!existsSync(urlFile)) {
      throw new CliError(`no agent found: start one with "keybridge up" or pass --agent URL (looked in ${urlFile})`);
    }
    url = readFileSync(urlFile, 'utf8').trim();
  }
  const tokenFile = values['token-file'] ?? process.env.KEYBRIDGE_TOKEN_FILE ?? join(home, 'agent.token');
  return { url, tokenFile };
}

function targetOf(url: string): AgentTarget {
  if (url.startsWith('unix:')) return { socketPath: url.slice('unix:'.length), display: url };
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new CliError(`agent URL ${JSON.stringify(url)} is not a URL`);
  }
  if (parsed.protocol !== 'http:') throw new CliError('agent URL must be http://host:port or unix:/path');
  return { host: parsed.hostname.replace(/^\[|\]$/g, ''), port: Number(parsed.port || 80), display: url };
}

export class AgentClient {
  private readonly target: AgentTarget;
  private readonly connections: ProvenConnections;
  private key: ProofKey | null = null;

  constructor(private readonly location: AgentLocation) {
    this.target = targetOf(location.url);
    this.connections = new ProvenConnections(this.target, () => this.proofKey(), { maxSockets: 8 });
  }

  private proofKey(): ProofKey {
    if (this.key === null) {
      let token: string;
      try {
        token = readFileSync(this.location.tokenFile, 'utf8').trim();
      } catch {
        throw new CliError(`cannot read the agent token file ${this.location.tokenFile}`);
      }
      this.key = new ProofKey(token);
    }
    return this.key;
  }

  get<T>(path: string): Promise<T> {
    return this.call<T>('GET', path, undefined);
  }

  post<T>(path: string, body: unknown): Promise<T> {
    return this.call<T>('POST', path, body);
  }

  close(): void {
    this.connections.destroy();
  }

  /** One request on a proven connection; the answer whatever its status. */
  request(
    method: string,
    path: string,
    options: { body?: Buffer | string; headers?: Record<string, string> } = {},
  ): Promise<RawAgentAnswer> {
    const payload = options.body === undefined ? undefined : Buffer.from(options.body);
    const headers: Record<string, string> = { Accept: 'application/json', ...options.headers };
    if (payload) {
      headers['Content-Type'] ??= 'application/json';
      headers['Content-Length'] = String(payload.length);
    }
    const { socketPath, host, port } = this.target;
    return new Promise<RawAgentAnswer>((resolve, reject) => {
      const req = request({ socketPath, host, port, method, path, headers, agent: this.connections, timeout: 120_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      });
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', (error) =>
        reject(error instanceof CliError ? error : new CliError(`cannot reach the agent at ${this.location.url}: ${error.message}`)),
      );
      req.end(payload);
    });
  }

  private async call<T>(method: string, path: string, body: unknown): Promise<T> {
    const answer = await this.request(method, path, { body: body === undefined ? undefined : JSON.stringify(body) });
    let parsed: unknown;
    try {
      parsed = JSON.parse(answer.text);
    } catch {
      throw new CliError(`the agent answered ${answer.status} with a body that is not JSON`);
    }
    if (answer.status >= 400) {
      const problem = parsed as { type?: string; title?: string; detail?: string; field?: string };
      const where = problem.field ? ` (${problem.field})` : '';
      const detail = problem.detail ? `: ${problem.detail}` : '';
      throw new CliError(`${problem.title ?? 'error'}${detail}${where} [${problem.type ?? answer.status}]`, problem.type);
    }
    return parsed as T;
  }
}
