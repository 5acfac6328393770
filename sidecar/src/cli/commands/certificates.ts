import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { movePrivateDirectory } from '../../files.ts';
import { EMBEDDED_PASSWORD_FILE } from '../../roles/up.ts';
import { defaultHome } from '../agent-client.ts';
import { AGENT_OPTIONS, parse, requireOption } from '../args.ts';
import { CliError, UsageError } from '../errors.ts';
import { readSecretLine } from '../files.ts';
import { printJson } from '../output.ts';
import { withClient } from './keys.ts';

export const CERTIFICATES_USAGE = `keybridge register --email E [--password-file F] [--site-name S]   # --site-name except on a partner platform
keybridge cert create --country C --state S --locality L --org O
keybridge cert renew | keybridge cert revoke      # revoke: every certificate of this site and environment
keybridge cert reissue --password-file F          # after a revocation: a new certificate, with the account password
keybridge cert move --from DIR --to DIR          # with the agent stopped; then point certDir at DIR
keybridge production [--password-file F]          # F: the account password (keybridge up keeps its own in its home)`;

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
    else {
      process.stdout.write(
        'revoked every certificate of this site and environment issued up to now (copies, renewals and what they minted included): ' +
          'the key service refuses them from their next request on\n' +
          'bring this host back with the account password: keybridge cert reissue --password-file F\n',
      );
    }
    return;
  }
  if (sub === 'reissue') {
    const { values } = parse(rest, { ...AGENT_OPTIONS, 'password-file': { type: 'string' } }, { min: 0, max: 0 });
    const password = readSecretLine(requireOption(values, 'password-file'), 'password-file');
    const result = await withClient(values, (client) => client.post<CertificateSummary>('/v1/certificates/reissue', { password }));
    if (values.json) printJson(result);
    else process.stdout.write(`re-issued ${describe(result)}`);
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
  throw new UsageError(sub ? `unknown cert command "${sub}"` : 'cert needs a subcommand: create, renew, revoke, reissue or move');
}

/**
 * A pending approval is a normal outcome (exit 0); `--json` prints {"status": "pending"}.
 * The account password comes from --password-file, else — when the CLI talks to the agent of
 * a `keybridge up` home — from the password `up` keeps there for its embedded account.
 */
export async function productionCommand(argv: string[]): Promise<void> {
  const { values } = parse(argv, { ...AGENT_OPTIONS, 'password-file': { type: 'string' } }, { min: 0, max: 0 });
  const password = readSecretLine(productionPasswordFile(values), 'password-file');
  const result = await withClient(values, (client) =>
    client.post<CertificateSummary & { status: 'issued' | 'pending' }>('/v1/production', { password }),
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

function productionPasswordFile(values: { 'password-file'?: string; agent?: string; home?: string }): string {
  if (values['password-file']) return values['password-file'];
  const embedded = join(defaultHome(values.home), EMBEDDED_PASSWORD_FILE);
  if (!values.agent && !process.env.KEYBRIDGE_AGENT && existsSync(embedded)) return embedded;
  throw new UsageError("--password-file is required: the move to production needs the account's password");
}
