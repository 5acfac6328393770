import { Agent as HttpAgent, request } from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { CliError } from './errors.ts';

/**
 * The CLI's client for the agent's local API: the same HTTP calls the PHP shims make.
 * It finds the agent from --agent / KEYBRIDGE_AGENT and the token from --token-file /
 * KEYBRIDGE_TOKEN_FILE, else from the home of `keybridge up` (--home / KEYBRIDGE_HOME /
 * ~/.keybridge), where `up` writes agent.url and agent.token.
 */
export interface AgentLocation {
  url: string;
  tokenFile: string;
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

export class AgentClient {
  private readonly httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 8 });
  private readonly target: { socketPath?: string; host?: string; port?: number };
  private token: string | null = null;

  constructor(private readonly location: AgentLocation) {
    if (location.url.startsWith('unix:')) {
      this.target = { socketPath: location.url.slice('unix:'.length) };
    } else {
      let parsed: URL;
      try {
        parsed = new URL(location.url);
      } catch {
        throw new CliError(`agent URL ${JSON.stringify(location.url)} is not a URL`);
      }
      if (parsed.protocol !== 'http:') throw new CliError('agent URL must be http://host:port or unix:/path');
      this.target = { host: parsed.hostname.replace(/^\[|\]$/g, ''), port: Number(parsed.port || 80) };
    }
  }

  private readToken(): string {
    if (this.token === null) {
      try {
        this.token = readFileSync(this.location.tokenFile, 'utf8').trim();
      } catch {
        throw new CliError(`cannot read the agent token file ${this.location.tokenFile}`);
      }
    }
    return this.token;
  }

  get<T>(path: string, auth = true): Promise<T> {
    return this.call<T>('GET', path, undefined, auth);
  }

  post<T>(path: string, body: unknown): Promise<T> {
    return this.call<T>('POST', path, body, true);
  }

  close(): void {
    this.httpAgent.destroy();
  }

  private call<T>(method: string, path: string, body: unknown, auth: boolean): Promise<T> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body), 'utf8');
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (auth) headers.Authorization = `Bearer ${this.readToken()}`;
    if (payload) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = String(payload.length);
    }
    return new Promise<T>((resolve, reject) => {
      const req = request({ ...this.target, method, path, headers, agent: this.httpAgent, timeout: 120_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch {
            reject(new CliError(`the agent answered ${res.statusCode} with a body that is not JSON`));
            return;
          }
          if ((res.statusCode ?? 500) >= 400) {
            const problem = parsed as { type?: string; title?: string; detail?: string; field?: string };
            const where = problem.field ? ` (${problem.field})` : '';
            const detail = problem.detail ? `: ${problem.detail}` : '';
            reject(new CliError(`${problem.title ?? 'error'}${detail}${where} [${problem.type ?? res.statusCode}]`, problem.type));
            return;
          }
          resolve(parsed as T);
        });
      });
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', (error) => reject(new CliError(`cannot reach the agent at ${this.location.url}: ${error.message}`)));
      req.end(payload);
    });
  }
}
