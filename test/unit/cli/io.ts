/** An in-memory CliIo for running the CLI in-process. */
import type { CliIo } from '../../../packages/cli/src/output.ts';

export interface CapturedIo extends CliIo {
  out(): string;
  err(): string;
}

export function captureIo(
  options: { tty?: boolean; env?: Record<string, string | undefined> } = {},
): CapturedIo {
  let stdout = '';
  let stderr = '';
  return {
    stdout: {
      write: (text: string) => {
        stdout += text;
        return true;
      },
      isTTY: options.tty ?? false,
    },
    stderr: {
      write: (text: string) => {
        stderr += text;
        return true;
      },
      isTTY: options.tty ?? false,
    },
    env: options.env ?? {},
    out: () => stdout,
    err: () => stderr,
  };
}
