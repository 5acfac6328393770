import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

/** What PHPCS's JSON report holds that the tests read. */
export interface PhpcsReport {
  totals: { errors: number; warnings: number; fixable?: number };
  files: Record<string, { errors: number; warnings: number; messages: { line: number; message: string; source: string }[] }>;
}

/**
 * Runs `phpcs` with `args` over `dir` (a built plugin or module), its JSON report written to
 * `reportFile`, and returns the report with every message as `file:line source: message`
 * (file relative to `dir`): the list a test expects to be empty, readable when it is not.
 */
export function runPhpcs(phpcs: string, args: string[], dir: string, reportFile: string): { report: PhpcsReport; problems: string[] } {
  try {
    execFileSync(phpcs, [...args, `--report-json=${reportFile}`, dir], { stdio: 'pipe' });
  } catch {
    // phpcs exits non-zero when it finds something; the report says what.
  }
  const report = JSON.parse(readFileSync(reportFile, 'utf8')) as PhpcsReport;
  const problems = Object.entries(report.files)
    .filter(([, file]) => file.errors + file.warnings > 0)
    .flatMap(([path, file]) => file.messages.map((m) => `${relative(dir, path)}:${m.line} ${m.source}: ${m.message}`));
  return { report, problems };
}
