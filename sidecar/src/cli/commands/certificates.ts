import { AGENT_OPTIONS, parse, requireOption } from '../args.ts';
import { resolve } from 'node:path';
import { movePrivateDirectory } from '../../files.ts';
import { CliError, UsageError } from '../errors.ts';
import { readSecretLine } from '../files.ts';
import { printJson } from '../output.ts';
import { withClient } from './keys.ts';

export const CERTIFICATES_USAGE = `keybridge register --email E [--password-file F] [--site-name S]   # --site-name except on a partner platform
keybridge cert create --country C --state S --locality L --org O
keybridge cert renew | keybridge cert revoke
keybridge cert move --from DIR --to DIR          # with the agent stopped; then point certDir at DIR
keybridge production`;

interface CertificateSummary {
  site_id: string;
  environment: string;
  account_email: string;
  serial: string;
  not_after: string;
  path: string;
}

function describe(summary: CertificateSummary): string {
  return `site ${summary.site_id} (${summary.account_email}), ${summary.environment} certificate ${summary.serial}, valid until ${summary.not_after}\nstored in ${summary.path}\n`;
}

export async function registerCommand(argv: string[]): Promise<void> {
  const { values } = parse(
    argv,
    { ...AGENT_OPTIONS, email: { type: 'string' }, 'password-file': { type: 'string' }, 'site-name': { type: 'string' } },
    { min: 0, max: 0 },
  );
  // On a partner platform (Pantheon) the operator named the site when issuing its certificate: only the email is needed.
  const body: Record<string, unknown> = { email: requireOption(values, 'email') };
  if (values['site-name']) body.site_name = values['site-name'];
  if (values['password-file']) body.password = readSecretLine(values['password-file'], 'password-file');
  const summary = await withClient(values, (client) => client.post<CertificateSummary>('/v1/register', body));
  if (values.json) printJson(summary);
  else process.stdout.write(`registered ${describe(summary)}`);
}

export async function certCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub === 'create') {
    const { values } = parse(
      rest,
      { ...AGENT_OPTIONS, country: { type: 'string' }, state: { type: 'string' }, locality: { type: 'string' }, org: { type: 'string' } },
      { min: 0, max: 0 },
    );
    const body = {
      country: requireOption(values, 'country'),
      state: requireOption(values, 'state'),
      locality: requireOption(values, 'locality'),
      organization: requireOption(values, 'org'),
    };
    const summary = await withClient(values, (client) => client.post<CertificateSummary>('/v1/certificates/create', body));
    if (values.json) printJson(summary);
    else process.stdout.write(`new ${describe(summary)}`);
    return;
  }
  if (sub === 'renew' || sub === 'revoke') {
    const { values } = parse(rest, AGENT_OPTIONS, { min: 0, max: 0 });
    const result = await withClient(values, (client) =>
      client.post<CertificateSummary & { revoked?: boolean }>(`/v1/certificates/${sub}`, {}),
    );
    if (values.json) printJson(result);
    else if (sub === 'renew') process.stdout.write(`renewed ${describe(result)}`);
    else process.stdout.write('revoked: the key service refuses this certificate from its next request on\n');
    return;
  }
  if (sub === 'move') {
    const { values } = parse(rest, { from: { type: 'string' }, to: { type: 'string' } }, { min: 0, max: 0 });
    const from = resolve(requireOption(values, 'from'));
    const to = resolve(requireOption(values, 'to'));
    let moved: string[];
    try {
      moved = await movePrivateDirectory(from, to);
    } catch (error) {
      throw new CliError(`cert move: ${(error as Error).message}`);
    }
    process.stdout.write(
      `moved ${moved.join(', ')} to ${to} (0700, files 0600)\nnow set certDir: ${to} in the agent's config and start it again\n`,
    );
    return;
  }
  throw new UsageError(sub ? `unknown cert command "${sub}"` : 'cert needs a subcommand: create, renew, revoke or move');
}

/** A pending approval is a normal outcome (exit 0); `--json` prints {"status": "pending"}. */
export async function productionCommand(argv: string[]): Promise<void> {
  const { values } = parse(argv, AGENT_OPTIONS, { min: 0, max: 0 });
  const result = await withClient(values, (client) =>
    client.post<CertificateSummary & { status: 'issued' | 'pending' }>('/v1/production', {}),
  );
  if (values.json) printJson(result);
  else if (result.status === 'pending') {
    process.stdout.write(
      'requested: an operator must approve production for this site (keybridge server sites approve SITE); run keybridge production again afterwards\n',
    );
  } else {
    process.stdout.write(
      `moved to production: ${describe(result)}From now on this agent reads and writes production values only: set each key again here.\n`,
    );
  }
}
