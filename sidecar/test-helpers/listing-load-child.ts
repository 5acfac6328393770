import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentClient } from '../src/cli/agent-client.ts';

// Listing load in its own process (so its JSON work does not slow the process that times
// reads): LOOPS concurrent loops, each paging through GET /v1/keys (PAGE keys a page) until
// told to stop on stdin, STATUS_LOOPS of them asking GET /v1/status between listings.
// Requests go on connections proven once (the local API's proofs), as a real client's.
// Prints {"listings", "pages", "statuses", "keysSeen", "errors"} on stdout when done.
const { AGENT_URL = '', AGENT_TOKEN = '', LOOPS = '10', STATUS_LOOPS = '0', PAGE = '1000' } = process.env;
const scratch = mkdtempSync(join(tmpdir(), 'kb-listing-child-'));
writeFileSync(join(scratch, 'agent.token'), `${AGENT_TOKEN}\n`, { mode: 0o600 });
// The client's raw answers: parsing every page would make this process, not the agent, the
// load on a small machine, so only the first listing is parsed (and counted) in full.
const client = new AgentClient({ url: AGENT_URL, tokenFile: join(scratch, 'agent.token') });
const counts = { listings: 0, pages: 0, statuses: 0, keysSeen: 0, errors: 0 };
const CURSOR_FIELD = '"next_cursor":"';
let stopping = false;
process.stdin.on('data', () => (stopping = true));
process.stdin.on('end', () => (stopping = true));

async function listAll(): Promise<void> {
  let cursor: string | null = null;
  let seen = 0;
  do {
    const query = new URLSearchParams({ limit: PAGE, ...(cursor ? { cursor } : {}) });
    const answer = await client.request('GET', `/v1/keys?${query}`);
    if (answer.status !== 200) throw new Error(`listing answered ${answer.status}`);
    if (counts.listings === 0) {
      const page = JSON.parse(answer.text) as { keys: unknown[]; next_cursor?: string };
      seen += page.keys.length;
      cursor = page.next_cursor ?? null;
    } else {
      const at = answer.text.lastIndexOf(CURSOR_FIELD);
      cursor = at < 0 ? null : answer.text.slice(at + CURSOR_FIELD.length, answer.text.indexOf('"', at + CURSOR_FIELD.length));
    }
    counts.pages++;
  } while (cursor !== null && !stopping);
  if (cursor === null) {
    if (counts.listings === 0) counts.keysSeen = seen;
    counts.listings++;
  }
}

async function loop(withStatus: boolean): Promise<void> {
  while (!stopping) {
    try {
      await listAll();
      if (withStatus) {
        const status = await client.request('GET', '/v1/status');
        if (status.status === 200) counts.statuses++;
        else counts.errors++;
      }
    } catch {
      counts.errors++;
    }
  }
}

const loops = Number(LOOPS);
await Promise.all(Array.from({ length: loops }, (_, index) => loop(index < Number(STATUS_LOOPS))));
client.close();
rmSync(scratch, { recursive: true, force: true });
process.stdout.write(JSON.stringify(counts));
