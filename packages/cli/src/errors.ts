/**
 * Errors of the `nvcf-ecr` command. They separate "tell the user and exit" from "this is a bug", as
 * changesets does (`changesets/changesets:packages/errors/src/index.ts`, `ExitError`): `src/index.ts` prints
 * a {@link CliError}'s message and exits with its code; anything else is an internal error.
 */

/** Base of every error the CLI raises on purpose. `exitCode` is what the process exits with. */
export class CliError extends Error {
  public readonly exitCode: number;
  public constructor(message: string, exitCode: number, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

/** The command line is wrong (unknown command or option, bad value). Exit code 2, with a usage hint. */
export class UsageError extends CliError {
  public override name = 'UsageError';
  /** The command whose `--help` the hint points at, if any. */
  public readonly command: string | undefined;
  public constructor(message: string, command?: string, options?: ErrorOptions) {
    super(message, 2, options);
    this.command = command;
  }
}

/** Stop with this exit code; the user has already been told why (nothing more is printed). */
export class ExitError extends CliError {
  public override name = 'ExitError';
  public constructor(code: number, options?: ErrorOptions) {
    super(`exit ${code}`, code, options);
  }
}

/**
 * A step of `nvcf-ecr demo` did not do what the story says it does (a verdict, a pull, a retirement...): the
 * demo stops there, marks the step failed in its summary and exits 1. The message says what was expected
 * and what was seen.
 */
export class DemoStepError extends CliError {
  public override name = 'DemoStepError';
  public constructor(message: string, options?: ErrorOptions) {
    super(message, 1, options);
  }
}
