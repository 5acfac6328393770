import { loadServerConfig } from '../../config/server.ts';
import { withAuthority, type SiteDetails } from '../../roles/server.ts';
import { parse, requireOption } from '../args.ts';
import { CliError, UsageError } from '../errors.ts';
import { printJson, printTable } from '../output.ts';

/**
 * The key-service operator's commands on sites and certificates. They open the server's
 * storage directly (roles/server.ts `withAuthority`); the server may be running.
 *
 *   keybridge server sites list [--json]
 *   keybridge server sites show SITE [--json]        the site and its certificate lineage
 *   keybridge server sites approve|deny SITE        the site's ONE pending production request
 *   keybridge server cert revoke SERIAL [--reason R] that certificate's whole lineage, up to now
 */
export async function sitesCommand(action: string | undefined, argv: string[]): Promise<number> {
  if (action === 'list') {
    const { values } = parse(argv, { config: { type: 'string' }, json: { type: 'boolean' } }, { min: 0, max: 0 });
    const config = await loadServerConfig(requireOption(values, 'config'));
    const sites = await withAuthority(config, (_authority, registry) => registry.listSites());
    if (values.json) printJson({ sites });
    else {
      printTable(
        ['SITE', 'NAME', 'REGION', 'PARTNER', 'PRODUCTION', 'CREATED'],
        sites.map((s) => [s.siteId, s.name, s.region, s.partner ?? '-', s.productionApproval, s.createdAt]),
      );
    }
    return 0;
  }
  if (action === 'show') {
    const { values, positionals } = parse(argv, { config: { type: 'string' }, json: { type: 'boolean' } }, { min: 1, max: 1 });
    const config = await loadServerConfig(requireOption(values, 'config'));
    const details = await withAuthority(config, (authority) => authority.siteDetails(positionals[0]));
    if (!details) throw new CliError(`no site ${positionals[0]}`);
    if (values.json) printJson(details);
    else printSite(details);
    return 0;
  }
  if (action === 'approve' || action === 'deny') {
    const { values, positionals } = parse(argv, { config: { type: 'string' } }, { min: 1, max: 1 });
    const config = await loadServerConfig(requireOption(values, 'config'));
    const decided = await withAuthority(config, (authority) =>
      authority.decideProduction(positionals[0], action === 'approve' ? 'approved' : 'denied'),
    );
    if (!decided) throw new CliError(`no pending production request for site ${positionals[0]}`);
    process.stdout.write(
      `${action === 'approve' ? 'approved' : 'denied'} the pending production request of ${positionals[0]} ` +
        `(this one request: the site asks again for the next)\n`,
    );
    return 0;
  }
  throw new UsageError('server sites needs: list, show SITE, approve SITE or deny SITE');
}

export async function operatorRevokeCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { config: { type: 'string' }, reason: { type: 'string' } }, { min: 1, max: 1 });
  const config = await loadServerConfig(requireOption(values, 'config'));
  const { revoked, details } = await withAuthority(config, async (authority, registry) => {
    const record = await registry.getCertificate(positionals[0]);
    if (!record) return { revoked: null, details: null };
    const serials = await authority.revokeAsOperator(positionals[0], values.reason ?? 'revoked by the operator');
    return { revoked: serials, details: { siteId: record.siteId, environment: record.environment } };
  });
  if (!revoked || !details) throw new CliError(`no certificate with serial ${positionals[0]}`);
  process.stdout.write(
    `revoked every ${details.environment} certificate of site ${details.siteId} issued up to now ` +
      `(${revoked.length} newly: ${revoked.join(', ') || 'none'}): refused from their next request on\n` +
      `the site comes back with its account password: keybridge cert reissue --password-file F\n`,
  );
  return 0;
}

function printSite({ site, accountEmail, certificates }: SiteDetails): void {
  const request = site.productionRequestedBy ? ` (request of certificate ${site.productionRequestedBy})` : '';
  process.stdout.write(
    `site ${site.siteId} "${site.name}", account ${accountEmail ?? '-'}, region ${site.region}` +
      `${site.partner ? `, partner ${site.partner}` : ''}, production request: ${site.productionApproval}${request}\n\n`,
  );
  const now = new Date().toISOString();
  printTable(
    ['SERIAL', 'ENVIRONMENT', 'ORIGIN', 'PARENT', 'ISSUED', 'EXPIRES', 'REVOKED', 'LAST SEEN'],
    certificates.map((c) => [
      c.serialHex,
      c.environment,
      c.origin,
      c.parentSerial ?? '-',
      c.issuedAt,
      c.notAfter,
      c.revokedAt
        ? `${c.revokedAt} by ${c.revokedBy}`
        : c.supersededAt
          ? `${c.supersededAt < now ? '' : 'from '}${c.supersededAt} (renewed)`
          : '-',
      c.lastSeenAt ?? '-',
    ]),
  );
}
