import { loadSpec } from '../../../../shims/generator/spec.ts';
import { AGENT_OPTIONS, parse } from '../args.ts';
import { AgentClient, locateAgent } from '../agent-client.ts';
import { printJson, printTable } from '../output.ts';

export const STATUS_USAGE = 'keybridge status [--json] [--strict]';

interface StatusReport {
  environment: string;
  region: string;
  registered: boolean;
  rows: { id: string; title: string; severity: 'ok' | 'warning' | 'error'; value: string; help: string; action: string }[];
}

const MARK = { ok: 'ok', warning: 'WARN', error: 'ERROR' } as const;

/**
 * Prints the status table; exits 1 when any row is red (with --strict also when one is
 * yellow), so scripts and monitoring can gate on it. A row's `action` is worded here as the
 * `keybridge` command that does it (shims/spec.yaml `status_actions`).
 */
export async function statusCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, { ...AGENT_OPTIONS, strict: { type: 'boolean' } }, { min: 0, max: 0 });
  const client = new AgentClient(locateAgent(values));
  let report: StatusReport;
  try {
    report = await client.get<StatusReport>('/v1/status');
  } finally {
    client.close();
  }
  if (values.json) printJson(report);
  else {
    printTable(
      ['', 'CHECK', 'VALUE'],
      report.rows.map((row) => [MARK[row.severity], row.title, row.value]),
    );
    const commands = new Map(loadSpec().statusActions.map((action) => [action.id, action.agent_cli]));
    for (const row of report.rows) {
      if (row.severity === 'ok') continue;
      const command = commands.get(row.action);
      const todo = [row.help, command ? `Run: ${command}` : ''].filter(Boolean).join(' ');
      if (todo) process.stdout.write(`\n${MARK[row.severity]} ${row.title}: ${todo}`);
    }
    process.stdout.write('\n');
  }
  const failing = values.strict ? ['error', 'warning'] : ['error'];
  return report.rows.some((row) => failing.includes(row.severity)) ? 1 : 0;
}
