import type { AuditReport } from '../model.ts';

/** `audit.json`: the report model as it is, indented (it is read by people as often as by machines). */
export function renderJson(report: AuditReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
