import { redactString } from '@nvcf-ecr/core/redact';
import { type CliIo, type Style, styleFor } from '../output.ts';

/**
 * The demo's voice. Narration goes to stderr (progress, as every command's progress does); the summary
 * table is the demo's result and goes to stdout. Every line passes through core's `redactString`, a last
 * guard: the steps only ever print masked key ids.
 */

export interface Narrator {
  readonly style: Style;
  /** `[n/total] title` and why the step matters. */
  step(index: number, total: number, title: string, why: string): void;
  /** A line of what is happening now, indented under its step. */
  say(text: string): void;
  /** An expectation that held. */
  ok(text: string): void;
  /** An expectation that did not hold. */
  fail(text: string): void;
  /** A plain line (start and end of the demo). */
  line(text: string): void;
}

export function createNarrator(io: CliIo): Narrator {
  const style = styleFor(io.stderr, io.env);
  const write = (text: string) => io.stderr.write(`${redactString(text)}\n`);
  return {
    style,
    step(index, total, title, why) {
      write('');
      write(style.bold(`[${index}/${total}] ${title}`));
      write(style.dim(`      ${why}`));
    },
    say: (text) => write(`      ${text}`),
    ok: (text) => write(`      ${style.green('✓')} ${text}`),
    fail: (text) => write(`      ${style.red('✗')} ${text}`),
    line: (text) => write(text),
  };
}

/** One row of the summary. */
export interface SummaryRow {
  step: string;
  outcome: 'ok' | 'FAILED' | 'not run';
  evidence: string;
}

/** The summary table: step, outcome, evidence; long evidence wraps at `; ` onto continuation lines. */
export function formatSummary(rows: readonly SummaryRow[], style: Style): string {
  const head: SummaryRow = { step: 'Step', outcome: 'ok', evidence: 'Evidence' };
  const stepWidth = Math.max(...[head, ...rows].map((r) => r.step.length));
  const outcomeWidth = Math.max('Outcome'.length, ...rows.map((r) => r.outcome.length));
  const lines = [
    `${style.bold(head.step.padEnd(stepWidth))}  ${style.bold('Outcome'.padEnd(outcomeWidth))}  ${style.bold('Evidence')}`,
  ];
  for (const row of rows) {
    const colour = row.outcome === 'ok' ? style.green : row.outcome === 'FAILED' ? style.red : style.dim;
    const [first = '', ...rest] = row.evidence.split('; ');
    lines.push(`${row.step.padEnd(stepWidth)}  ${colour(row.outcome.padEnd(outcomeWidth))}  ${first}`);
    for (const more of rest) lines.push(`${' '.repeat(stepWidth + outcomeWidth + 4)}${more}`);
  }
  return `${lines.map((l) => redactString(l)).join('\n')}\n`;
}
