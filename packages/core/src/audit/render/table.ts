import type { AuditReport, Finding } from '../model.ts';

/**
 * The terminal view of `nvcf-ecr audit`: one block per finding that needs attention (status, severity,
 * check, resource; the message and the fix indented below), one line per pass, and the summary last, where a
 * terminal leaves the eye.
 */

/** Colours for a terminal; the CLI passes ANSI ones on a TTY, plain text otherwise. */
export interface TableStyle {
  bold(text: string): string;
  dim(text: string): string;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
}

const plain: TableStyle = { bold: (t) => t, dim: (t) => t, red: (t) => t, green: (t) => t, yellow: (t) => t };

// Terminal control characters in a finding (a hostile tag or name) must not reach the terminal.
// A line break becomes a space; every other C0/C1 control character (ESC starts terminal sequences) a '?'.
function clean(text: string): string {
  let out = '';
  for (const c of text) {
    const n = c.codePointAt(0) ?? 0;
    out += n === 0x0a || n === 0x0d || n === 0x09 ? ' ' : n < 0x20 || (n >= 0x7f && n <= 0x9f) ? '?' : c;
  }
  return out;
}

function statusText(f: Finding, style: TableStyle): string {
  const label = f.status.toUpperCase().padEnd(6);
  if (f.status === 'pass') return style.green(label);
  if (f.status === 'exempt') return style.dim(label);
  if (f.status === 'error') return style.yellow(label);
  return f.severity === 'info' ? style.yellow(label) : style.red(label);
}

export function renderTable(report: AuditReport, style: TableStyle = plain): string {
  const lines: string[] = [];
  for (const f of report.findings) {
    const head = `${statusText(f, style)} ${f.severity.padEnd(8)} ${style.bold(f.checkId)}  ${clean(f.resource)}`;
    if (f.status === 'pass') {
      lines.push(
        style.dim(`${f.status.toUpperCase().padEnd(6)} ${''.padEnd(8)} ${f.checkId}  ${clean(f.resource)}`),
      );
      continue;
    }
    lines.push(head);
    lines.push(`       ${clean(f.message)}`);
    if (f.exemption)
      lines.push(
        style.dim(`       exempted until ${clean(f.exemption.expires)}: ${clean(f.exemption.reason)}`),
      );
    else lines.push(style.dim(`       fix: ${clean(f.remediation)}`));
  }
  const s = report.summary;
  const verdict =
    s.failed === 0 && s.errors === 0
      ? style.green(style.bold('compliant'))
      : style.red(style.bold('not compliant'));
  lines.push(
    '',
    `${verdict}: ${s.failed} failed${s.worstSeverity && s.failed + s.errors > 0 ? ` (worst ${s.worstSeverity})` : ''}, ${s.errors} errors, ${s.exempted} exempted, ${s.passed} passed${s.informational > 0 ? `, ${s.informational} informational` : ''} — ${report.registries.map((r) => clean(r.name)).join(', ')}, ${report.stats['images'] ?? 0} images resolved in ${(report.durationMs / 1000).toFixed(1)} s`,
  );
  return `${lines.join('\n')}\n`;
}
