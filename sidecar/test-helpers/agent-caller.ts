import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentClient } from '../src/cli/agent-client.ts';

/**
 * `call(method, path, body?, headers?)` against an agent, for tests: through the CLI's
 * client (cli/agent-client.ts), so every request rides on a connection proven both ways,
 * as a real client's does; answers come back whatever their status. A string or Buffer
 * body goes as it is (bytes a broken client might send), anything else as JSON.
 */
export interface ApiResponse {
  status: number;
  headers: Headers;
  json: any;
  text: string;
}

export interface AgentCaller {
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<ApiResponse>;
  close(): void;
}

/** A caller for the agent at `url`, with its token file, or its token (then written to a 0600 file of its own). */
export function agentCaller(url: string, auth: { tokenFile: string } | { token: string }): AgentCaller {
  let scratch: string | null = null;
  let tokenFile: string;
  if ('tokenFile' in auth) {
    tokenFile = auth.tokenFile;
  } else {
    scratch = mkdtempSync(join(tmpdir(), 'kb-caller-'));
    tokenFile = join(scratch, 'agent.token');
    writeFileSync(tokenFile, `${auth.token}\n`, { mode: 0o600 });
  }
  const client = new AgentClient({ url, tokenFile });
  return {
    async call(method, path, body, headers = {}) {
      const answer = await client.request(method, path, {
        body: body === undefined ? undefined : typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
        headers,
      });
      const webHeaders = new Headers();
      for (const [name, value] of Object.entries(answer.headers)) {
        for (const each of Array.isArray(value) ? value : value === undefined ? [] : [value]) webHeaders.append(name, each);
      }
      let json: unknown = undefined;
      try {
        json = JSON.parse(answer.text);
      } catch {
        /* left undefined: the test asserts on text */
      }
      return { status: answer.status, headers: webHeaders, json, text: answer.text };
    },
    close() {
      client.close();
      if (scratch) rmSync(scratch, { recursive: true, force: true });
    },
  };
}

/**
 * Every page of `GET /v1/keys`, `limit` keys a page, following next_cursor to the last: for
 * tests that need the whole listing (the first page alone holds only `limit` keys).
 */
export async function keyPages(
  agent: { call(method: string, path: string): Promise<ApiResponse> },
  limit: number,
): Promise<{ name: string; label: string }[][]> {
  const pages: { name: string; label: string }[][] = [];
  let cursor: string | undefined;
  do {
    const query = new URLSearchParams({ limit: String(limit), ...(cursor === undefined ? {} : { cursor }) });
    const page = await agent.call('GET', `/v1/keys?${query}`);
    if (page.status !== 200) throw new Error(`GET /v1/keys answered ${page.status}: ${page.text.slice(0, 300)}`);
    pages.push(page.json.keys);
    cursor = page.json.next_cursor;
  } while (cursor !== undefined);
  return pages;
}
