/** The benchmark's summary table: one row per measured figure, with its target and whether it was met. */

export interface Row {
  readonly benchmark: string;
  readonly measured: string;
  readonly target: string;
  /** `undefined` for an informational row (no target). */
  readonly pass: boolean | undefined;
}

export function formatTable(rows: readonly Row[]): string {
  const head = ['benchmark', 'measured', 'target', 'result'];
  const body = rows.map((r) => [
    r.benchmark,
    r.measured,
    r.target,
    r.pass === undefined ? '' : r.pass ? 'pass' : 'FAIL',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

export const ms = (n: number): string => `${Math.round(n).toLocaleString('en-US')} ms`;
export const bytes = (n: number): string => `${n.toLocaleString('en-US')} B`;
