import { CoreError } from '@nvcf-ecr/core/errors';
import { redactString } from '@nvcf-ecr/core/redact';
import { run } from './cli.ts';
import { CliError, ExitError, UsageError } from './errors.ts';
import type { CliIo } from './output.ts';

/**
 * The CLI's single error boundary, and the only place that exits the process. Known errors print their
 * message (no stack trace) and exit with their code; anything else is a bug: "internal error, please
 * report" and exit 2, with the stack only when `NVCF_ECR_DEBUG=1`.
 */

/** Runs the CLI and turns every error into a message on stderr and an exit code. Never throws. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    return await run(argv, io);
  } catch (err) {
    return report(err, io);
  }
}

function report(err: unknown, io: CliIo): number {
  if (err instanceof ExitError) return err.exitCode;
  if (err instanceof UsageError) {
    const help = err.command ? `nvcf-ecr ${err.command} --help` : 'nvcf-ecr --help';
    io.stderr.write(`nvcf-ecr: ${err.message}\nRun '${help}' for usage.\n`);
    return err.exitCode;
  }
  if (err instanceof CliError) {
    io.stderr.write(`nvcf-ecr: error: ${redactString(err.message)}\n`);
    return err.exitCode;
  }
  if (err instanceof CoreError) {
    io.stderr.write(`nvcf-ecr: error: ${redactString(err.message)}\n`);
    return 2;
  }
  const name = err instanceof Error ? err.name : typeof err;
  io.stderr.write(
    `nvcf-ecr: internal error (${name}), please report it with the command you ran; set NVCF_ECR_DEBUG=1 for details\n`,
  );
  if (io.env['NVCF_ECR_DEBUG'] === '1') {
    io.stderr.write(`${redactString(err instanceof Error ? (err.stack ?? err.message) : String(err))}\n`);
  }
  return 2;
}

/** Runs the CLI on this process's arguments and exits with its code (called by `bin/nvcf-ecr.js`). */
export async function start(): Promise<never> {
  const code = await main(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    stdin: process.stdin,
  });
  // Let stdout and stderr drain before exiting, so piped output is never cut short.
  await Promise.all([drain(process.stdout), drain(process.stderr)]);
  process.exit(code);
}

function drain(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    stream.write('', () => resolve());
  });
}
