import { buildShims } from '../../../../shims/generator/build.ts';
import { SpecError } from '../../../../shims/generator/spec.ts';
import { parse, requireOption } from '../args.ts';
import { CliError, UsageError } from '../errors.ts';

export const SHIMS_USAGE = 'keybridge shims build --out DIR' + ' '.repeat(20) + '# DIR/wordpress/keybridge, DIR/drupal/keybridge';

/** `keybridge shims build --out DIR`: generates the CMS shims; prints each shim's path, one a line. */
export async function shimsCommand(argv: string[]): Promise<void> {
  const [action, ...rest] = argv;
  if (action !== 'build') throw new UsageError(action ? `unknown shims command "${action}"` : 'shims needs a command: build');
  const { values } = parse(rest, { out: { type: 'string' } }, { min: 0, max: 0 });
  const outDir = requireOption(values, 'out');
  let result;
  try {
    result = buildShims({ outDir });
  } catch (error) {
    // A bad spec or a template clash: one clear line, nothing half written (buildShims swaps atomically).
    if (error instanceof SpecError) throw new CliError(error.message);
    throw new CliError(`shims build failed: ${(error as Error).message}`);
  }
  process.stdout.write(result.shims.map((shim) => `${shim.dir}\n`).join(''));
}
