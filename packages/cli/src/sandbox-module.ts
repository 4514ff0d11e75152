import { CliError } from './errors.ts';

/**
 * The local sandbox (`@nvcf-ecr/sandbox`) is a development tool, and not part of the published `nvcf-ecr`:
 * it authorises requests with `@cloud-copilot/iam-simulate`, which is AGPL-3.0-or-later, and nothing a user
 * installs or deploys may carry AGPL code (packages/sandbox/README.md, "Licence"). `nvcf-ecr sandbox` and
 * `nvcf-ecr demo` load it only when they run; in a clone of the repository it is always there.
 */

export type SandboxModule = typeof import('@nvcf-ecr/sandbox');

export const SANDBOX_PACKAGE = '@nvcf-ecr/sandbox';

/** The one line a user without the sandbox reads. */
export const SANDBOX_MISSING =
  "the sandbox is not part of this install (it uses AGPL-licensed code): clone nvcf-ecr-autopilot, run 'npm install', then 'npx nvcf-ecr sandbox' or 'npm start' there";

/** Imports the sandbox, or fails with {@link SANDBOX_MISSING} (exit code 2) when it is not installed. */
export async function loadSandbox(specifier: string = SANDBOX_PACKAGE): Promise<SandboxModule> {
  try {
    return (await import(specifier)) as SandboxModule;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' && String((err as Error).message).includes(specifier))
      throw new CliError(SANDBOX_MISSING, 2, { cause: err });
    throw err;
  }
}
