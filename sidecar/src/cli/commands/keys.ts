import { AGENT_OPTIONS, parse, requireOption } from '../args.ts';
import { AgentClient, locateAgent } from '../agent-client.ts';
import { UsageError } from '../errors.ts';
import { readInputFile, readSecretLine } from '../files.ts';
import { listAllKeys, listKeysPage, type KeysPage } from '../key-listing.ts';
import { printJson, printTable } from '../output.ts';

export const KEYS_USAGE = `keybridge keys set NAME (--value-file F | --generate BITS) [--label L] [--wrapping-key-file K] [--json]
keybridge keys get NAME --wrapping-key-file F
keybridge keys list [--json] [--limit N [--cursor C]]
keybridge keys delete NAME
keybridge keys rotate NAME --wrapping-key-file F [--json]`;

interface Written {
  name: string;
  wrapping_key: string;
  version: number;
}

export async function keysCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'set':
      return keysSet(rest);
    case 'get':
      return keysGet(rest);
    case 'list':
      return keysList(rest);
    case 'delete':
      return keysDelete(rest);
    case 'rotate':
      return keysRotate(rest);
    default:
      throw new UsageError(sub ? `unknown keys command "${sub}"` : 'keys needs a subcommand');
  }
}

async function withClient<T>(values: Parameters<typeof locateAgent>[0], run: (client: AgentClient) => Promise<T>): Promise<T> {
  const client = new AgentClient(locateAgent(values));
  try {
    return await run(client);
  } finally {
    client.close();
  }
}

async function keysSet(argv: string[]): Promise<void> {
  const { values, positionals } = parse(
    argv,
    {
      ...AGENT_OPTIONS,
      'value-file': { type: 'string' },
      generate: { type: 'string' },
      label: { type: 'string' },
      'wrapping-key-file': { type: 'string' },
    },
    { min: 1, max: 1 },
  );
  const [name] = positionals;
  if ((values['value-file'] === undefined) === (values.generate === undefined)) {
    throw new UsageError('give exactly one of --value-file F or --generate BITS');
  }
  const common: Record<string, unknown> = { name };
  if (values.label !== undefined) common.label = values.label;
  if (values['wrapping-key-file'] !== undefined) {
    common.wrapping_key = readSecretLine(values['wrapping-key-file'], 'wrapping-key-file');
  }
  const written = await withClient(values, (client) => {
    if (values.generate !== undefined) {
      if (!/^\d+$/.test(values.generate)) throw new UsageError('--generate takes a number of bits, e.g. 256');
      return client.post<Written>('/v1/keys/generate', { ...common, bits: Number(values.generate) });
    }
    const value = readInputFile(values['value-file']!, 'value-file');
    return client.post<Written>('/v1/keys/set', { ...common, value_base64: value.toString('base64') });
  });
  if (values.json) printJson(written);
  else process.stdout.write(`${written.wrapping_key}\n`);
}

async function keysGet(argv: string[]): Promise<void> {
  const { values, positionals } = parse(argv, { ...AGENT_OPTIONS, 'wrapping-key-file': { type: 'string' } }, { min: 1, max: 1 });
  const wrappingKey = readSecretLine(requireOption(values, 'wrapping-key-file'), 'wrapping-key-file');
  const read = await withClient(values, (client) =>
    client.post<{ name: string; value_base64: string; version: number }>('/v1/keys/get', {
      name: positionals[0],
      wrapping_key: wrappingKey,
    }),
  );
  if (values.json) {
    printJson(read);
    return;
  }
  // The exact bytes that were stored: no newline is added, so `keys get … > file` round-trips.
  process.stdout.write(Buffer.from(read.value_base64, 'base64'));
}

/** Pages the whole listing by default; with --limit, one page (and its next_cursor) for scripts. */
async function keysList(argv: string[]): Promise<void> {
  const { values } = parse(argv, { ...AGENT_OPTIONS, limit: { type: 'string' }, cursor: { type: 'string' } }, { min: 0, max: 0 });
  if (values.cursor !== undefined && values.limit === undefined) throw new UsageError('--cursor goes with --limit');
  if (values.limit !== undefined && !/^[1-9][0-9]*$/.test(values.limit)) throw new UsageError('--limit takes a whole number');
  const listing: KeysPage = await withClient(values, (client) =>
    values.limit !== undefined ? listKeysPage(client, values.limit, values.cursor) : listAllKeys(client),
  );
  if (values.json) {
    printJson(listing);
    return;
  }
  printTable(
    ['NAME', 'VERSION', 'READS', 'UPDATED', 'LABEL'],
    listing.keys.map((key) => [key.name, String(key.version), String(key.reads), key.updated_at, key.label]),
  );
  if (listing.next_cursor !== undefined) process.stderr.write(`more keys follow: --cursor ${listing.next_cursor}\n`);
}

async function keysDelete(argv: string[]): Promise<void> {
  const { values, positionals } = parse(argv, AGENT_OPTIONS, { min: 1, max: 1 });
  const result = await withClient(values, (client) => client.post<{ name: string }>('/v1/keys/delete', { name: positionals[0] }));
  if (values.json) printJson(result);
  else process.stdout.write(`deleted ${result.name}\n`);
}

async function keysRotate(argv: string[]): Promise<void> {
  const { values, positionals } = parse(argv, { ...AGENT_OPTIONS, 'wrapping-key-file': { type: 'string' } }, { min: 1, max: 1 });
  const wrappingKey = readSecretLine(requireOption(values, 'wrapping-key-file'), 'wrapping-key-file');
  const written = await withClient(values, (client) =>
    client.post<Written>('/v1/keys/rotate', { name: positionals[0], wrapping_key: wrappingKey }),
  );
  if (values.json) printJson(written);
  else process.stdout.write(`${written.wrapping_key}\n`);
}

export { withClient };
