/**
 * Where the CLI writes, and how. Results go to stdout, progress, logs and errors to stderr. Colour only
 * on a terminal, and never when `NO_COLOR` is set to a non-empty value (no-color.org) or `TERM=dumb`.
 */

export interface OutputStream {
  write(text: string): unknown;
  readonly isTTY?: boolean | undefined;
}

/** Everything a command touches of the process; tests pass their own. */
export interface CliIo {
  stdout: OutputStream;
  stderr: OutputStream;
  env: Readonly<Record<string, string | undefined>>;
  /** Standard input, for commands that read a pipe (`encode`); absent: nothing to read. */
  stdin?: InputStream | undefined;
}

/** What a command reads of standard input. */
export interface InputStream extends AsyncIterable<string | Uint8Array> {
  readonly isTTY?: boolean | undefined;
}

export function colorEnabled(stream: OutputStream, env: CliIo['env']): boolean {
  if (env['NO_COLOR'] !== undefined && env['NO_COLOR'] !== '') return false;
  if (env['TERM'] === 'dumb') return false;
  return stream.isTTY === true;
}

export interface Style {
  bold(text: string): string;
  dim(text: string): string;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
}

const plain: Style = { bold: (t) => t, dim: (t) => t, red: (t) => t, green: (t) => t, yellow: (t) => t };

const sgr = (open: number, close: number) => (text: string) => `\u001b[${open}m${text}\u001b[${close}m`;

const ansi: Style = {
  bold: sgr(1, 22),
  dim: sgr(2, 22),
  red: sgr(31, 39),
  green: sgr(32, 39),
  yellow: sgr(33, 39),
};

/** The style for a stream: ANSI colours when {@link colorEnabled}, plain text otherwise. */
export function styleFor(stream: OutputStream, env: CliIo['env']): Style {
  return colorEnabled(stream, env) ? ansi : plain;
}

/** Prints one JSON document (the machine output of `--json`). */
export function writeJson(io: CliIo, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Aligned `label  value` lines, one block per label (a value with several items gets one line each). */
export function formatFields(
  rows: readonly (readonly [string, readonly string[]])[],
  style: Style,
  indent = '  ',
): string {
  const width = Math.max(...rows.map(([label]) => label.length));
  const lines: string[] = [];
  for (const [label, values] of rows) {
    const items = values.length === 0 ? ['none'] : values;
    items.forEach((value, i) => {
      const head = i === 0 ? style.bold(label.padEnd(width)) : ' '.repeat(width);
      lines.push(`${indent}${head}  ${values.length === 0 ? style.dim(value) : value}`);
    });
  }
  return `${lines.join('\n')}\n`;
}
