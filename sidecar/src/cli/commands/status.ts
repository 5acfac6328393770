import { AGENT_OPTIONS, parse } from '../args.ts';
import { AgentClient, locateAgent } from '../agent-client.ts';
import { printJson, printTable } from '../output.ts';

export const STATUS_USAGE = 'keybridge status [--json]';

interface StatusReport {
  environment: string;
  region: string;
  registered: boolean;
  rows: { id: string; title: string; severity: 'ok' | 'warning' | 'error'; value: string; help: string }[];
}

const MARK = { ok: 'ok', warning: 'WARN', error: 'ERROR' } as const;

/** Prints the status table; exits 1 when any row is red, so scripts can gate on it. */
export async function statusCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, AGENT_OPTIONS, { min: 0, max: 0 });
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
    for (const row of report.rows) {
      if (row.severity !== 'ok' && row.help) process.stdout.write(`\n${MARK[row.severity]} ${row.title}: ${row.help}`);
    }
    process.stdout.write('\n');
  }
  return report.rows.some((row) => row.severity === 'error') ? 1 : 0;
}
