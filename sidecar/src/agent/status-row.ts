/**
 * One row of the status table (DESIGN.md "Status table"; row ids and titles in shims/spec.yaml).
 * `help` is plain words; `action` names what to run, and each surface words it itself (the
 * agent CLI, WP-CLI, drush, the admin page pointing at its form: spec.yaml `status_actions`).
 */
export type Severity = 'ok' | 'warning' | 'error';

export interface StatusRow {
  id: string;
  title: string;
  severity: Severity;
  value: string;
  /** Plain words, no command: each surface (CLI, WP-CLI, admin page, drush) words `action` itself. */
  help: string;
  /** A `status_actions` id of shims/spec.yaml, or '' when there is nothing to run. */
  action: string;
}

export function row(id: string, title: string, severity: Severity, value: string, help: string, action = ''): StatusRow {
  return { id, title, severity, value, help, action };
}
