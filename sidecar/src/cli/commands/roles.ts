import { loadAgentConfig } from '../../config/agent.ts';
import { loadServerConfig } from '../../config/server.ts';
import { runAgent } from '../../roles/agent.ts';
import { issuePartnerBinding, rotateRoot, runServer, type RotationStep } from '../../roles/server.ts';
import { parse, requireOption } from '../args.ts';
import { accessLogLine, createLineWriter, createLogWriter } from '../log-writer.ts';
import { UsageError } from '../errors.ts';
import { printJson } from '../output.ts';
import { operatorRevokeCommand, sitesCommand } from './operator.ts';

export const ROLES_USAGE = `keybridge server --config FILE                     # key service (mutual TLS)
keybridge server sites list|show SITE [--json] --config FILE   # show: the site's certificate lineage
keybridge server sites approve|deny SITE --config FILE       # the site's one pending production request
keybridge server cert revoke SERIAL [--reason R] --config FILE  # every certificate of its site and environment
keybridge server partner issue --partner pantheon (--site-name NAME | --site SITE) --environment ENV --out FILE --config FILE [--json]
                                                   # the platform's key + certificate (live: production, else development)
keybridge server rotate-root --config FILE [--json] # new root key, vaults re-wrapped, old key destroyed
keybridge agent --config FILE                      # sidecar`;

/** One JSON line per request on stderr: method, path, status, duration (and the certificate subject). */
const writeLine = createLineWriter();
const logLine = createLogWriter(undefined, writeLine);

function untilSignal(close: () => Promise<void>): Promise<number> {
  return new Promise<number>((resolveExit) => {
    const stop = () => {
      process.stderr.write('keybridge: shutting down\n');
      close().then(
        () => resolveExit(0),
        () => resolveExit(1),
      );
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

export async function serverCommand(argv: string[]): Promise<number> {
  const [first, second, ...rest] = argv;
  if (first === 'sites') return sitesCommand(second, rest);
  if (first === 'rotate-root') return rotateRootCommand(argv.slice(1));
  if (first === 'partner') return partnerCommand(second, rest);
  if (first === 'cert') {
    if (second !== 'revoke') throw new UsageError('server cert needs: revoke SERIAL');
    return operatorRevokeCommand(rest);
  }
  const { values } = parse(argv, { config: { type: 'string' } }, { min: 0, max: 0 });
  const config = await loadServerConfig(requireOption(values, 'config'));
  const server = await runServer(config, (entry) => logLine({ ...entry, ms: Number(entry.ms.toFixed(2)) }));
  process.stdout.write(
    `keybridge key service (${config.region}) listening on ${server.url}\n` +
      `agents trust its CA: ${server.caFile}\n` +
      `storage: ${config.storage.kind}, root key: ${config.rootKey.kind}, production policy: ${config.production.policy}\n`,
  );
  return untilSignal(server.close);
}

/**
 * Rotates the root key, or finishes a rotation a crash interrupted (run it again until it
 * succeeds; a starting server finishes one too). Progress goes to stderr.
 *
 * Test hook, for the crash tests only: with KEYBRIDGE_TEST_ROTATION_CRASH_AT set to a step
 * name (`planned`, `created`, `activated`, `ca-resealed`, `destroyed`) or to `resealed:N`,
 * the process kills itself with SIGKILL right after that step, as a power cut would.
 */
async function rotateRootCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, { config: { type: 'string' }, json: { type: 'boolean' } }, { min: 0, max: 0 });
  const config = await loadServerConfig(requireOption(values, 'config'));
  const crashAt = process.env.KEYBRIDGE_TEST_ROTATION_CRASH_AT;
  const onStep = (step: RotationStep): void => {
    if (step.step === 'resealed') {
      if (step.count % 100 === 0) process.stderr.write(`re-wrapped ${step.count} vaults\n`);
    } else process.stderr.write(`rotate-root: ${JSON.stringify(step)}\n`);
    const name = step.step === 'resealed' ? `resealed:${step.count}` : step.step;
    if (crashAt && crashAt === name) process.kill(process.pid, 'SIGKILL');
  };
  const result = await rotateRoot(config, onStep);
  if (values.json) printJson(result);
  else {
    process.stdout.write(
      `${result.resumed ? 'finished an interrupted rotation' : 'rotated the root key'}: ${result.from} -> ${result.to}, ` +
        `${result.resealed} vault(s) re-wrapped, old key destroyed\n`,
    );
  }
  return 0;
}

/**
 * The operator issues a partner platform's certificates (the platform installs the file;
 * the agent there only reads it). `--site` re-issues for an existing site of the partner,
 * so the agent's site.json keeps matching; otherwise a new site is made.
 */
async function partnerCommand(action: string | undefined, argv: string[]): Promise<number> {
  if (action !== 'issue') throw new UsageError('server partner needs: issue');
  const { values } = parse(
    argv,
    {
      config: { type: 'string' },
      partner: { type: 'string' },
      'site-name': { type: 'string' },
      site: { type: 'string' },
      environment: { type: 'string' },
      out: { type: 'string' },
      json: { type: 'boolean' },
    },
    { min: 0, max: 0 },
  );
  if (Boolean(values['site-name']) === Boolean(values.site))
    throw new UsageError('server partner issue needs one of --site-name NAME (a new site) or --site SITE (a new certificate for it)');
  const config = await loadServerConfig(requireOption(values, 'config'));
  const out = requireOption(values, 'out');
  const issued = await issuePartnerBinding(
    config,
    {
      partner: requireOption(values, 'partner'),
      platformEnvironment: requireOption(values, 'environment'),
      siteName: values['site-name'],
      siteId: values.site,
    },
    out,
  );
  const summary = {
    site_id: issued.siteId,
    site_name: issued.siteName,
    partner: issued.partner,
    platform_environment: issued.platformEnvironment,
    environment: issued.environment,
    serial: issued.serialHex,
    not_after: issued.notAfter,
    path: out,
  };
  if (values.json) printJson(summary);
  else {
    process.stdout.write(
      `site ${issued.siteId} (${issued.siteName}): ${issued.environment} certificate for ${issued.partner} ${issued.platformEnvironment}, serial ${issued.serialHex}, valid until ${issued.notAfter}\n` +
        `key and certificate written to ${out} (0600): install it as that environment's binding.pem\n`,
    );
  }
  return 0;
}

export async function agentCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, { config: { type: 'string' } }, { min: 0, max: 0 });
  const config = await loadAgentConfig(requireOption(values, 'config'));
  const running = await runAgent(
    config,
    (entry) => writeLine(accessLogLine(entry)),
    (error) => logLine({ event: 'renewal-failed', error: error instanceof Error ? error.message : 'error' }),
  );
  const partner = config.partner
    ? `, ${config.partner.name} ${config.partner.environment ?? '(environment unknown)'}, certificate ${config.partner.certFile}`
    : '';
  process.stdout.write(
    `keybridge agent listening on ${running.url} (region ${config.region}, certificates in ${config.certDir}${partner})\n`,
  );
  return untilSignal(running.close);
}
