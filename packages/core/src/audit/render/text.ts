import type { CheckStatus, Finding, Severity } from '../model.ts';

/**
 * Escaping and wording shared by the renderers. Every string in a report comes from live state an attacker
 * may influence (repository names, tags, function names, policy names, NVCF credential names), so nothing is
 * written into HTML or Markdown without escaping.
 */

/** HTML text and attribute escaping: `& < > " '`. */
export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/**
 * Markdown inline text: HTML-escaped (renderers pass raw HTML through), Markdown's inline markers
 * backslash-escaped, line breaks flattened (a table cell or a list item is one line).
 */
export function escapeMarkdown(text: string): string {
  return text
    .replace(/[\\`*_[\]|~#]/g, (c) => `\\${c}`)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\r?\n/g, ' ');
}

/** A fenced code block whose fence is longer than any backtick run inside, so content cannot close it. */
export function fenced(content: string, language = ''): string {
  const longest = Math.max(0, ...[...content.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}${language}\n${content}\n${fence}`;
}

export const STATUS_LABEL: Record<CheckStatus, string> = {
  fail: 'Failed',
  error: 'Error',
  exempt: 'Exempted',
  pass: 'Passed',
};

export const SEVERITY_LABEL: Record<Severity, string> = {
  critical: 'Critical',
  high: 'High',
  medium: 'Medium',
  low: 'Low',
  info: 'Info',
};

/** Findings of one status, in report order. */
export function byStatus(findings: readonly Finding[], status: CheckStatus): Finding[] {
  return findings.filter((f) => f.status === status);
}

/** Evidence as indented JSON. */
export function evidenceJson(f: Finding): string {
  return JSON.stringify(f.evidence, null, 2);
}
