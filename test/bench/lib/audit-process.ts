/**
 * Runs the deployed audit handler once, in a process of its own, against a sandbox served by the parent
 * (`audit100k.ts`), and prints `{ result, ms, cpuMs, maxRssBytes }` as JSON on stdout. Its own process, so that the
 * peak resident set is the audit's alone (Node, the SDK, the handler and its data, as a Lambda sandbox holds
 * them), not the emulator's store of 100,000 tags. The environment arrives as one JSON line on stdin; the
 * process answers `ready` once the handler is built (Lambda's init phase, not timed) and runs it on the next
 * line.
 */
import { createInterface } from 'node:readline';
import { assertConfig } from '@nvcf-ecr/core/config';
import { createLogger } from '@nvcf-ecr/core/log';
import { createAuditHandler } from '../../../functions/audit.ts';
import { fromSandboxEnvironment, type SandboxHandlerEnvironment } from '../../../functions/lib/sandbox.ts';

interface Input {
  readonly env: Omit<SandboxHandlerEnvironment, 'now' | 'logger' | 'config'> & { readonly config: unknown };
  /** Virtual time minus real time in the parent: the child's clock follows the sandbox's. */
  readonly clockOffsetMs: number;
  readonly timeoutMs: number;
}

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const input = JSON.parse((await lines.next()).value as string) as Input;
const now = () => new Date(Date.now() + input.clockOffsetMs);
const handler = createAuditHandler(
  fromSandboxEnvironment({
    ...input.env,
    config: assertConfig(input.env.config),
    now,
    logger: createLogger({ sink: (r) => process.stderr.write(`${JSON.stringify(r)}\n`), level: 'warn' }),
  }),
);
process.stdout.write('ready\n');
await lines.next();
const started = performance.now();
const cpuBefore = process.cpuUsage();
const result = await handler(
  {},
  { getRemainingTimeInMillis: () => input.timeoutMs - (performance.now() - started) },
);
const ms = performance.now() - started;
// CPU time the invocation used (user + system): what a Lambda with less than a whole vCPU would stretch.
const cpu = process.cpuUsage(cpuBefore);
const cpuMs = (cpu.user + cpu.system) / 1000;
// ru_maxrss: the peak resident set of this process, in KiB on Linux (getrusage(2)).
const maxRssBytes = process.resourceUsage().maxRSS * 1024;
process.stdout.write(`${JSON.stringify({ result, ms, cpuMs, maxRssBytes })}\n`);
process.exit(0);
