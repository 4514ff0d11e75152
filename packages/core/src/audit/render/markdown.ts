import { type AuditReport, CHECK_STATUSES, type Finding, SEVERITIES } from '../model.ts';
import {
  byStatus,
  evidenceJson,
  fenced,
  escapeMarkdown as md,
  SEVERITY_LABEL,
  STATUS_LABEL,
} from './text.ts';

/**
 * `audit.md`: the report for a pull request, a ticket or a wiki. Summary first, then failures (most severe
 * first) with their remediation and folded evidence, errors, exemptions, the passed checks as a table, and
 * what each check proves.
 */

function verdictLine(report: AuditReport): string {
  const s = report.summary;
  if (s.failed === 0 && s.errors === 0) {
    return `**Result: compliant.** ${s.passed} passed${s.exempted > 0 ? `, ${s.exempted} exempted` : ''}${s.informational > 0 ? `, ${s.informational} informational` : ''}.`;
  }
  const worst = s.worstSeverity ? ` (worst: ${s.worstSeverity})` : '';
  return `**Result: ${s.failed} failed, ${s.errors} could not be checked${worst}.** ${s.passed} passed, ${s.exempted} exempted${s.informational > 0 ? `, ${s.informational} informational` : ''}.`;
}

function findingSection(f: Finding): string {
  const lines = [
    `### ${SEVERITY_LABEL[f.severity]} · \`${f.checkId}\` · ${md(f.resource)}`,
    '',
    md(f.message),
    '',
  ];
  if (f.registry) lines.push(`- **Registry:** ${md(f.registry)}`);
  lines.push(`- **Check:** ${md(f.title)}`);
  if (f.exemption) lines.push(`- **Exempted until ${md(f.exemption.expires)}:** ${md(f.exemption.reason)}`);
  if (f.status !== 'pass') lines.push(`- **Remediation:** ${md(f.remediation)}`);
  lines.push(
    '',
    '<details><summary>Evidence</summary>',
    '',
    fenced(evidenceJson(f), 'json'),
    '',
    '</details>',
    '',
  );
  return lines.join('\n');
}

export function renderMarkdown(report: AuditReport): string {
  const s = report.summary;
  const out: string[] = [
    '# NVCF pull chain compliance audit',
    '',
    `Generated ${md(report.generatedAt)} for ${report.registries.map((r) => `${md(r.name)} (${md(r.hostname)})`).join(', ')}.`,
    '',
    '## Summary',
    '',
    verdictLine(report),
    '',
    '| Status | Findings |',
    '| --- | ---: |',
    ...CHECK_STATUSES.map((st) => `| ${STATUS_LABEL[st]} | ${s.byStatus[st]} |`),
    '',
    '| Severity of failures | Findings |',
    '| --- | ---: |',
    ...SEVERITIES.map((sev) => `| ${SEVERITY_LABEL[sev]} | ${s.bySeverity[sev]} |`),
    '',
  ];
  const failures = byStatus(report.findings, 'fail');
  if (failures.length > 0) {
    out.push(
      `## Failures (${failures.length})`,
      '',
      '| Severity | Check | Resource | Finding |',
      '| --- | --- | --- | --- |',
      ...failures.map(
        (f) => `| ${SEVERITY_LABEL[f.severity]} | \`${f.checkId}\` | ${md(f.resource)} | ${md(f.message)} |`,
      ),
      '',
      ...failures.map(findingSection),
    );
  }
  for (const status of ['error', 'exempt'] as const) {
    const list = byStatus(report.findings, status);
    if (list.length === 0) continue;
    out.push(
      `## ${status === 'error' ? 'Could not be checked' : 'Exempted'} (${list.length})`,
      '',
      ...list.map(findingSection),
    );
  }
  const passed = byStatus(report.findings, 'pass');
  if (passed.length > 0) {
    out.push(
      `## Passed (${passed.length})`,
      '',
      '| Check | Resource | Finding |',
      '| --- | --- | --- |',
      ...passed.map((f) => `| \`${f.checkId}\` | ${md(f.resource)} | ${md(f.message)} |`),
      '',
    );
  }
  out.push(
    '## Checks',
    '',
    '| Check | Severity | What a pass proves | How to fix a failure |',
    '| --- | --- | --- | --- |',
    ...report.checks.map(
      (c) => `| \`${c.id}\` | ${SEVERITY_LABEL[c.severity]} | ${md(c.proves)} | ${md(c.remediation)} |`,
    ),
    '',
    `Report schema version ${report.schemaVersion}; ${report.findings.length} findings; ${Object.entries(
      report.stats,
    )
      .map(([k, v]) => `${md(k)} ${v}`)
      .join(', ')}.`,
    '',
  );
  return out.join('\n');
}
