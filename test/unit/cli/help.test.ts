import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { COMMANDS, type Command } from '../../../packages/cli/src/cli.ts';
import { main } from '../../../packages/cli/src/index.ts';
import { captureIo } from './io.ts';

// The help of the program and of every registered command, pinned by snapshot
// (`__snapshots__/help.test.ts.snap`): a change to what users read is a reviewed change. After an intended
// change, update with `npx vitest run test/unit/cli/help.test.ts -u` and review the diff.

async function helpOf(args: string[]): Promise<string> {
  const io = captureIo({ env: { NO_COLOR: '1' } });
  expect(await main(args, io)).toBe(0);
  expect(io.err()).toBe('');
  return io.out();
}

const NAMES = Object.keys(COMMANDS);

describe('Help: nvcf-ecr --help', () => {
  it('lists every command the issue asks for, with its summary', async () => {
    const help = await helpOf(['--help']);
    for (const name of [
      'check',
      'status',
      'rotate',
      'retire',
      'audit',
      'policy',
      'encode',
      'init',
      'doctor',
      'sandbox',
      'demo',
    ]) {
      expect(help).toMatch(new RegExp(`^ {2}${name} {2,}\\S`, 'm'));
    }
  });

  it('matches the snapshot', async () => {
    expect(await helpOf(['--help'])).toMatchSnapshot();
  });
});

describe.each(NAMES)('Help: nvcf-ecr %s --help', (name) => {
  it('documents every option the command accepts, and its exit codes', async () => {
    const help = await helpOf([name, '--help']);
    const command: Command = (await COMMANDS[name]?.load())?.command as Command;
    for (const option of Object.keys(command.options)) expect(help).toContain(`--${option}`);
    expect(help).toMatch(/^Exit codes:\n {2}0 /m);
    expect(help.startsWith(`Usage: nvcf-ecr ${name}`)).toBe(true);
  });

  it('matches the snapshot', async () => {
    expect(await helpOf([name, '--help'])).toMatchSnapshot();
  });
});

describe('Docs: the CLI reference (packages/cli/README.md)', () => {
  const docs = readFileSync('packages/cli/README.md', 'utf8');
  /** The text of the `### nvcf-ecr <name>` section. */
  const section = (name: string) => {
    const start = docs.indexOf(`\n### nvcf-ecr ${name}\n`);
    if (start < 0) return undefined;
    const end = docs.indexOf('\n#', start + 1);
    return docs.slice(start, end < 0 ? undefined : end);
  };

  it.each(NAMES)('documents %s with every option it accepts and its exit codes', async (name) => {
    const text = section(name);
    expect(text, `packages/cli/README.md has no section '### nvcf-ecr ${name}'`).toBeDefined();
    const command = (await COMMANDS[name]?.load())?.command as Command;
    const missing = Object.keys(command.options).filter((o) => !text?.includes(`--${o}`));
    expect(missing).toEqual([]);
    expect(text).toMatch(/Exit codes: `0` /);
  });
});
