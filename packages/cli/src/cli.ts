import { readFileSync } from 'node:fs';
import { type ParseArgsOptionsConfig, parseArgs } from 'node:util';
import { UsageError } from './errors.ts';
import type { CliIo } from './output.ts';

/**
 * Argument parsing and the command registry. Parsing (`node:util` parseArgs, strict) is kept apart from
 * behaviour; each command lives in `commands/<name>.ts` and is loaded only when it runs, which keeps
 * start-up fast however many commands there are.
 *
 * To add a command: write `commands/<name>.ts` exporting `command: Command`, then add ONE line to
 * {@link COMMANDS}.
 */

/** Parsed option values, as `node:util` parseArgs returns them. */
export type OptionValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

export interface CommandContext {
  /** Positional arguments after the command name. */
  positionals: string[];
  values: OptionValues;
  io: CliIo;
}

export interface Command {
  name: string;
  /** One line for the program's command list. */
  summary: string;
  /** `nvcf-ecr check <source> [options]` */
  usage: string;
  /** Help text after the usage line: what it does, options, examples, exit codes. */
  help: string;
  options: ParseArgsOptionsConfig;
  /** How many positional arguments the command takes. */
  positionals: { min: number; max: number };
  /** Runs the command; resolves to the exit code. */
  run(context: CommandContext): Promise<number>;
}

interface CommandEntry {
  summary: string;
  load: () => Promise<{ command: Command }>;
}

/** The registry: name → summary and loader. Later commands (status, rotate, audit, ...) add a line here. */
export const COMMANDS: Readonly<Record<string, CommandEntry>> = {
  check: {
    summary: 'check an image for the platforms NVCF needs, before or after pushing it',
    load: () => import('./commands/check.ts'),
  },
  status: {
    summary: 'show the rotation state of the pull keys and the NVCF credential',
    load: () => import('./commands/status.ts'),
  },
  rotate: {
    summary: 'rotate a registry pull key now and follow the rotation step by step',
    load: () => import('./commands/rotate.ts'),
  },
  retire: {
    summary: "deactivate a registry's previous pull key after its grace period",
    load: () => import('./commands/retire.ts'),
  },
  audit: {
    summary: 'audit the whole NVCF pull chain: IAM, rotated secret, NVCF credential, images',
    load: () => import('./commands/audit.ts'),
  },
  policy: {
    summary: 'print the minimal IAM policy NVCF needs to pull from a registry',
    load: () => import('./commands/policy.ts'),
  },
  encode: {
    summary: 'print the NVCF registry credential value for an IAM access key pair',
    load: () => import('./commands/encode.ts'),
  },
  init: {
    summary: 'write a starter nvcf-ecr.config.ts from flags',
    load: () => import('./commands/init.ts'),
  },
  doctor: {
    summary: 'check the configuration, AWS credentials, NGC key and NVCF, and say how to fix what is wrong',
    load: () => import('./commands/doctor.ts'),
  },
  sandbox: {
    summary: 'run the local AWS + NVCF sandbox (what the tests and the demo run on)',
    load: () => import('./commands/sandbox.ts'),
  },
  demo: {
    summary: 'run the whole system on the sandbox and tell the story end to end (npm start)',
    load: () => import('./commands/demo.ts'),
  },
};

/** Options every command accepts. */
const COMMON_OPTIONS: ParseArgsOptionsConfig = { help: { type: 'boolean', short: 'h' } };

export const EXIT_CODES_HELP = `Exit codes:
  0  success (check: the image is compliant)
  1  the check failed (check: non-compliant, not runnable, or an artifact)
  2  usage error, or the command could not run (unreadable source, malformed manifest, ...)`;

export function programHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  const list = Object.entries(COMMANDS)
    .map(([name, entry]) => `  ${name.padEnd(width)}  ${entry.summary}`)
    .join('\n');
  return `Usage: nvcf-ecr <command> [options]

Keeps NVIDIA Cloud Functions' pull access to Amazon ECR healthy.

Commands:
${list}

Options:
  -h, --help     show help (also: nvcf-ecr <command> --help)
      --version  print the version

Environment:
  NO_COLOR=1        no colours (colours are used only on a terminal anyway)
  NVCF_ECR_DEBUG=1  print stack traces of internal errors

${EXIT_CODES_HELP}
`;
}

export function commandHelp(command: Command): string {
  return `Usage: ${command.usage}\n\n${command.help.trimEnd()}\n`;
}

/** The CLI package's version (read from its package.json, next to both `src/` and the bundled `dist/`). */
export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version?: string;
  };
  return pkg.version ?? '0.0.0';
}

/** Parses `argv` (without `node` and the script) and runs the command. Resolves to the exit code. */
export async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    io.stderr.write(programHelp());
    return 2;
  }
  if (first === '--help' || first === '-h') {
    io.stdout.write(programHelp());
    return 0;
  }
  if (first === '--version') {
    io.stdout.write(`${version()}\n`);
    return 0;
  }
  if (first === 'help') {
    const name = rest[0];
    if (name === undefined) {
      io.stdout.write(programHelp());
      return 0;
    }
    io.stdout.write(commandHelp(await loadCommand(name)));
    return 0;
  }
  if (first.startsWith('-')) throw new UsageError(`unknown option '${first}' before the command`);
  const command = await loadCommand(first);
  const parsed = parseCommandArgs(command, rest);
  if (parsed.values['help'] === true) {
    io.stdout.write(commandHelp(command));
    return 0;
  }
  return command.run({ positionals: parsed.positionals, values: parsed.values, io });
}

async function loadCommand(name: string): Promise<Command> {
  const entry = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!entry) {
    throw new UsageError(`unknown command '${name}': the commands are ${Object.keys(COMMANDS).join(', ')}`);
  }
  return (await entry.load()).command;
}

function parseCommandArgs(command: Command, args: string[]): { values: OptionValues; positionals: string[] } {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args,
      options: { ...COMMON_OPTIONS, ...command.options },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    // parseArgs throws TypeErrors with an ERR_PARSE_ARGS_* code and a readable message.
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
      throw new UsageError(firstLine((err as Error).message), command.name, { cause: err });
    }
    throw err;
  }
  const values = parsed.values as OptionValues;
  if (values['help'] !== true) {
    const n = parsed.positionals.length;
    const { min, max } = command.positionals;
    if (n < min) throw new UsageError(`missing argument: ${command.usage}`, command.name);
    if (n > max)
      throw new UsageError(
        `unexpected argument '${parsed.positionals[max]}': ${command.usage}`,
        command.name,
      );
  }
  return { values, positionals: parsed.positionals };
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}
