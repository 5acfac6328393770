// Listing load in its own process (so its JSON work does not slow the process that times
// reads): LOOPS concurrent loops, each paging through GET /v1/keys (PAGE keys a page) until
// told to stop on stdin, STATUS_LOOPS of them asking GET /v1/status between listings.
// Prints {"listings", "pages", "statuses", "keysSeen", "errors"} on stdout when done.
const { AGENT_URL, AGENT_TOKEN, LOOPS = '10', STATUS_LOOPS = '0', PAGE = '1000' } = process.env;
const headers = { Authorization: `Bearer ${AGENT_TOKEN}` };
const counts = { listings: 0, pages: 0, statuses: 0, keysSeen: 0, errors: 0 };
const CURSOR_FIELD = Buffer.from('"next_cursor":"');
let stopping = false;
process.stdin.on('data', () => (stopping = true));
process.stdin.on('end', () => (stopping = true));

async function listAll() {
  let cursor = null;
  let seen = 0;
  do {
    const query = new URLSearchParams({ limit: PAGE, ...(cursor ? { cursor } : {}) });
    const response = await fetch(`${AGENT_URL}/v1/keys?${query}`, { headers });
    if (response.status !== 200) throw new Error(`listing answered ${response.status}`);
    // Parsing every page would make this process, not the agent, the load on a small machine:
    // the first listing is parsed (and counted) in full, later ones only read their cursor.
    const body = Buffer.from(await response.arrayBuffer());
    if (counts.listings === 0) {
      const page = JSON.parse(body.toString('utf8'));
      seen += page.keys.length;
      cursor = page.next_cursor ?? null;
    } else {
      const at = body.lastIndexOf(CURSOR_FIELD);
      cursor = at < 0 ? null : body.toString('latin1', at + CURSOR_FIELD.length, body.indexOf('"', at + CURSOR_FIELD.length));
    }
    counts.pages++;
  } while (cursor !== null && !stopping);
  if (cursor === null) {
    if (counts.listings === 0) counts.keysSeen = seen;
    counts.listings++;
  }
}

async function loop(withStatus) {
  while (!stopping) {
    try {
      await listAll();
      if (withStatus) {
        const status = await fetch(`${AGENT_URL}/v1/status`, { headers });
        await status.arrayBuffer();
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
process.stdout.write(JSON.stringify(counts));
