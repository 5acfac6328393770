import { createBundle, openBundle } from '../../crypto/index.ts';
import { writeFileAtomic } from '../../files.ts';
import { AGENT_OPTIONS, parse, requireOption } from '../args.ts';
import { CliError, UsageError } from '../errors.ts';
import { readJsonFile, readSecretLine, readWrappingKeys } from '../files.ts';
import { printJsonLine, printTable, ProgressBar } from '../output.ts';
import { listAllKeys } from '../key-listing.ts';
import { withClient } from './keys.ts';

export const TRANSFER_USAGE = `keybridge import lockr --file F [--json]            # F: JSON [{name, ciphertext, encoded, label?}]
keybridge export --out F --passphrase-file P --wrapping-keys-file W   # W: JSON {"name": "kb1$…"}
keybridge import bundle --file F --passphrase-file P [--wrapping-keys-file W] [--json]`;

/** Items per request: small enough for the agent's body cap, large enough to be quick. */
const BATCH = 50;

interface Written {
  name: string;
  wrapping_key: string;
  version: number;
}

export async function importCommand(argv: string[]): Promise<void> {
  const [kind, ...rest] = argv;
  if (kind === 'lockr') return importLockr(rest);
  if (kind === 'bundle') return importBundle(rest);
  throw new UsageError(kind ? `unknown import kind "${kind}" (lockr or bundle)` : 'import needs a kind: lockr or bundle');
}

async function importLockr(argv: string[]): Promise<void> {
  const { values } = parse(argv, { ...AGENT_OPTIONS, file: { type: 'string' } }, { min: 0, max: 0 });
  const items = readJsonFile(requireOption(values, 'file'), 'file');
  if (!Array.isArray(items)) throw new CliError('--file: expected a JSON array [{name, ciphertext, encoded}]');
  const written = await withClient(values, async (client) => {
    const progress = new ProgressBar('import lockr', items.length);
    const all: Written[] = [];
    progress.update(0);
    for (let start = 0; start < items.length; start += BATCH) {
      const batch = items.slice(start, start + BATCH);
      try {
        const result = await client.post<{ keys: Written[] }>('/v1/import/lockr', { items: batch });
        all.push(...result.keys);
      } catch (error) {
        // Earlier batches are stored: say which, so nothing is imported twice by accident.
        reportPartial(all, values.json);
        throw rebase(error, start);
      }
      progress.update(Math.min(start + BATCH, items.length));
    }
    return all;
  });
  printWritten(written, values.json);
}

async function importBundle(argv: string[]): Promise<void> {
  const { values } = parse(
    argv,
    { ...AGENT_OPTIONS, file: { type: 'string' }, 'passphrase-file': { type: 'string' }, 'wrapping-keys-file': { type: 'string' } },
    { min: 0, max: 0 },
  );
  const bundle = readJsonFile(requireOption(values, 'file'), 'file');
  const passphrase = readSecretLine(requireOption(values, 'passphrase-file'), 'passphrase-file');
  const wrappingKeys = values['wrapping-keys-file'] ? readWrappingKeys(values['wrapping-keys-file'], 'wrapping-keys-file') : {};
  // Opened here rather than by the agent so a large bundle is sent key by key, with progress.
  const items = await openBundle(passphrase, bundle);
  const written = await withClient(values, async (client) => {
    const progress = new ProgressBar('import bundle', items.length);
    const all: Written[] = [];
    progress.update(0);
    for (const item of items) {
      const body: Record<string, unknown> = {
        name: item.name,
        value_base64: Buffer.from(item.value).toString('base64'),
        label: item.label,
      };
      if (wrappingKeys[item.name]) body.wrapping_key = wrappingKeys[item.name];
      try {
        all.push(await client.post<Written>('/v1/keys/set', body));
      } catch (error) {
        reportPartial(all, values.json);
        throw error;
      }
      progress.update(all.length);
    }
    return all;
  });
  printWritten(written, values.json);
}

export async function exportCommand(argv: string[]): Promise<void> {
  const { values } = parse(
    argv,
    { ...AGENT_OPTIONS, out: { type: 'string' }, 'passphrase-file': { type: 'string' }, 'wrapping-keys-file': { type: 'string' } },
    { min: 0, max: 0 },
  );
  const out = requireOption(values, 'out');
  const passphrase = readSecretLine(requireOption(values, 'passphrase-file'), 'passphrase-file');
  if ([...passphrase].length < 12) throw new CliError('--passphrase-file: the passphrase must be at least 12 characters');
  const wrappingKeys = readWrappingKeys(requireOption(values, 'wrapping-keys-file'), 'wrapping-keys-file');
  const names = Object.keys(wrappingKeys);
  if (names.length === 0) throw new CliError('--wrapping-keys-file: names no key to export');
  const items = await withClient(values, async (client) => {
    const { keys: listing, environment } = await listAllKeys(client);
    const labels = new Map(listing.map((key) => [key.name, key.label]));
    const progress = new ProgressBar('export', names.length);
    const collected = [];
    progress.update(0);
    for (const name of names) {
      const read = await client.post<{ name: string; value_base64: string }>('/v1/keys/get', { name, wrapping_key: wrappingKeys[name] });
      collected.push({
        name: read.name,
        label: labels.get(read.name) ?? '',
        environment,
        value: new Uint8Array(Buffer.from(read.value_base64, 'base64')),
      });
      progress.update(collected.length);
    }
    return collected;
  });
  const bundle = await createBundle(passphrase, items);
  writeFileAtomic(out, `${JSON.stringify(bundle, null, 2)}\n`, 0o600);
  process.stderr.write(`exported ${items.length} key(s) to ${out}\n`);
}

function printWritten(written: Written[], json: boolean | undefined): void {
  if (json) {
    for (const item of written) printJsonLine(item);
    return;
  }
  printTable(
    ['NAME', 'VERSION', 'WRAPPING KEY'],
    written.map((item) => [item.name, String(item.version), item.wrapping_key]),
  );
  process.stderr.write(`imported ${written.length} key(s): keep each wrapping key, the key service cannot open a value without it\n`);
}

function reportPartial(written: Written[], json: boolean | undefined): void {
  if (written.length === 0) return;
  process.stderr.write(`stopped after ${written.length} stored key(s); their wrapping keys:\n`);
  if (json) for (const item of written) printJsonLine(item);
  else printWritten(written, false);
}

/** Turns `items[3]` in an agent error into the index in the user's whole file. */
function rebase(error: unknown, offset: number): unknown {
  if (!(error instanceof CliError) || offset === 0) return error;
  return new CliError(
    error.message.replace(/items\[(\d+)\]/g, (_, index: string) => `items[${Number(index) + offset}]`),
    error.type,
  );
}
