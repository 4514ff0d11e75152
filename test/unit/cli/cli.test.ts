import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../../packages/cli/src/cli.ts';
import { CliError, ExitError, UsageError } from '../../../packages/cli/src/errors.ts';
import { main } from '../../../packages/cli/src/index.ts';
import { colorEnabled } from '../../../packages/cli/src/output.ts';
import { captureIo } from './io.ts';

const VERSION = (JSON.parse(readFileSync('packages/cli/package.json', 'utf8')) as { version: string })
  .version;

describe('Function: main', () => {
  it('prints the version from package.json', async () => {
    const io = captureIo();
    expect(await main(['--version'], io)).toBe(0);
    expect(io.out()).toBe(`${VERSION}\n`);
  });

  it('prints the program help listing every registered command and the exit codes', async () => {
    const io = captureIo();
    expect(await main(['--help'], io)).toBe(0);
    for (const name of Object.keys(COMMANDS)) expect(io.out()).toMatch(new RegExp(`^ {2}${name} {2,}`, 'm'));
    expect(io.out()).toContain('Exit codes:\n  0  success');
  });

  it('prints the help to stderr and exits 2 when no command is given', async () => {
    const io = captureIo();
    expect(await main([], io)).toBe(2);
    expect(io.out()).toBe('');
    expect(io.err()).toMatch(/^Usage: nvcf-ecr <command> \[options\]/);
  });

  it('prints a command help with -h, with `help <command>`, and ignores other arguments then', async () => {
    const a = captureIo();
    const b = captureIo();
    expect(await main(['check', '-h'], a)).toBe(0);
    expect(await main(['help', 'check'], b)).toBe(0);
    expect(a.out()).toMatch(/^Usage: nvcf-ecr check <source> \[--require <platforms>\] \[--json\]\n/);
    expect(a.out()).toContain('--require <platforms>');
    expect(b.out()).toBe(a.out());
  });

  it('rejects an unknown command with a usage error naming the commands', async () => {
    const io = captureIo();
    expect(await main(['chekc'], io)).toBe(2);
    expect(io.err()).toBe(
      `nvcf-ecr: unknown command 'chekc': the commands are ${Object.keys(COMMANDS).join(', ')}\nRun 'nvcf-ecr --help' for usage.\n`,
    );
  });

  it('rejects an unknown option with a usage error pointing at the command help', async () => {
    const io = captureIo();
    expect(await main(['check', 'oci:x', '--platform', 'linux/amd64'], io)).toBe(2);
    expect(io.err()).toMatch(
      /^nvcf-ecr: Unknown option '--platform'.*\nRun 'nvcf-ecr check --help' for usage\.\n$/,
    );
  });

  it('rejects an extra positional argument', async () => {
    const io = captureIo();
    expect(await main(['check', 'oci:a', 'oci:b'], io)).toBe(2);
    expect(io.err()).toBe(
      "nvcf-ecr: unexpected argument 'oci:b': nvcf-ecr check <source> [--require <platforms>] [--json]\nRun 'nvcf-ecr check --help' for usage.\n",
    );
  });

  it('turns an unexpected exception into "internal error" with exit 2 and no stack trace', async () => {
    const io = captureIo();
    io.stdout.write = () => {
      throw new TypeError('stdout exploded');
    };
    expect(await main(['--version'], io)).toBe(2);
    expect(io.err()).toBe(
      'nvcf-ecr: internal error (TypeError), please report it with the command you ran; set NVCF_ECR_DEBUG=1 for details\n',
    );
  });

  it('prints the stack of an internal error when NVCF_ECR_DEBUG=1', async () => {
    const io = captureIo({ env: { NVCF_ECR_DEBUG: '1' } });
    io.stdout.write = () => {
      throw new TypeError('stdout exploded');
    };
    expect(await main(['--version'], io)).toBe(2);
    expect(io.err()).toMatch(/\nTypeError: stdout exploded\n\s+at /);
  });
});

describe('Function: colorEnabled', () => {
  it('colours a terminal unless NO_COLOR is non-empty or TERM is dumb', () => {
    expect(colorEnabled({ write: () => true, isTTY: true }, {})).toBe(true);
    expect(colorEnabled({ write: () => true, isTTY: true }, { NO_COLOR: '' })).toBe(true);
    expect(colorEnabled({ write: () => true, isTTY: true }, { NO_COLOR: '1' })).toBe(false);
    expect(colorEnabled({ write: () => true, isTTY: true }, { TERM: 'dumb' })).toBe(false);
    expect(colorEnabled({ write: () => true, isTTY: false }, {})).toBe(false);
  });
});

describe('Errors', () => {
  it('gives usage errors exit code 2 and ExitError its own code', () => {
    const usage = new UsageError('bad flag', 'check');
    const exit = new ExitError(1);
    expect(usage).toBeInstanceOf(CliError);
    expect([usage.name, usage.exitCode, usage.command, usage.message]).toEqual([
      'UsageError',
      2,
      'check',
      'bad flag',
    ]);
    expect([exit.name, exit.exitCode, exit.message]).toEqual(['ExitError', 1, 'exit 1']);
  });
});
