import { loadAgentConfig } from '../../config/agent.ts';
import { loadServerConfig } from '../../config/server.ts';
import { runAgent } from '../../roles/agent.ts';
import { runServer, withAuthority } from '../../roles/server.ts';
import { parse, requireOption } from '../args.ts';
import { CliError, UsageError } from '../errors.ts';
import { printJson, printTable } from '../output.ts';

export const ROLES_USAGE = `keybridge server --config FILE                     # key service (mutual TLS)
keybridge server sites list|approve SITE|deny SITE --config FILE
keybridge server cert revoke SERIAL [--reason R] --config FILE
keybridge agent --config FILE                      # sidecar`;

/** One JSON line per request on stderr: method, path, status, duration (and the certificate subject). */
function logLine(entry: object): void {
  process.stderr.write(`${JSON.stringify({ at: new Date().toISOString(), ...entry })}\n`);
}

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
  if (first === 'cert') {
    if (second !== 'revoke') throw new UsageError('server cert needs: revoke SERIAL');
    const { values, positionals } = parse(rest, { config: { type: 'string' }, reason: { type: 'string' } }, { min: 1, max: 1 });
    const config = await loadServerConfig(requireOption(values, 'config'));
    const revoked = await withAuthority(config, (authority) => authority.revokeAsOperator(positionals[0], values.reason ?? 'revoked by the operator'));
    if (!revoked) throw new CliError(`no certificate with serial ${positionals[0]}`);
    process.stdout.write(`revoked ${positionals[0]}: refused from its next request on\n`);
    return 0;
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

async function sitesCommand(action: string | undefined, argv: string[]): Promise<number> {
  if (action === 'list') {
    const { values } = parse(argv, { config: { type: 'string' }, json: { type: 'boolean' } }, { min: 0, max: 0 });
    const config = await loadServerConfig(requireOption(values, 'config'));
    const sites = await withAuthority(config, (_authority, registry) => registry.listSites());
    if (values.json) printJson({ sites });
    else printTable(['SITE', 'NAME', 'REGION', 'PRODUCTION', 'CREATED'], sites.map((s) => [s.siteId, s.name, s.region, s.productionApproval, s.createdAt]));
    return 0;
  }
  if (action === 'approve' || action === 'deny') {
    const { values, positionals } = parse(argv, { config: { type: 'string' } }, { min: 1, max: 1 });
    const config = await loadServerConfig(requireOption(values, 'config'));
    const changed = await withAuthority(config, (authority) => authority.approveProduction(positionals[0], action === 'approve' ? 'approved' : 'denied'));
    if (!changed) throw new CliError(`no site ${positionals[0]}`);
    process.stdout.write(`${action === 'approve' ? 'approved' : 'denied'} production for ${positionals[0]}\n`);
    return 0;
  }
  throw new UsageError('server sites needs: list, approve SITE or deny SITE');
}

export async function agentCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, { config: { type: 'string' } }, { min: 0, max: 0 });
  const config = await loadAgentConfig(requireOption(values, 'config'));
  const running = await runAgent(
    config,
    (entry) => logLine({ ...entry, ms: Number(entry.ms.toFixed(2)) }),
    (error) => logLine({ event: 'renewal-failed', error: error instanceof Error ? error.message : 'error' }),
  );
  process.stdout.write(`keybridge agent listening on ${running.url} (region ${config.region}, certificates in ${config.certDir})\n`);
  return untilSignal(running.close);
}
