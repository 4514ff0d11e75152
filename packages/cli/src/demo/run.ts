import { relative } from 'node:path';
import { type Config, ConfigError, loadConfig } from '@nvcf-ecr/core/config';
import { createLogger, type LogLevel } from '@nvcf-ecr/core/log';
import { redactString } from '@nvcf-ecr/core/redact';
import type { ProfileName, RunningSandbox } from '@nvcf-ecr/sandbox';
import { sandboxHandlers } from '../compose.ts';
import { CliError, DemoStepError } from '../errors.ts';
import { type CliIo, styleFor } from '../output.ts';
import { loadSandbox } from '../sandbox-module.ts';
import { createDemoContext, type DemoContext, destroyDemoContext } from './context.ts';
import { createNarrator, formatSummary, type Narrator, type SummaryRow } from './narrate.ts';
import { findProject } from './project.ts';
import type { DemoStep } from './step.ts';
import { audit, REPORT_FILES } from './steps/audit.ts';
import { bootstrap } from './steps/bootstrap.ts';
import { images } from './steps/images.ts';
import { pull } from './steps/pull.ts';
import { retire } from './steps/retire.ts';
import { rotate } from './steps/rotate.ts';

/**
 * `nvcf-ecr demo` (and `npm start`): the whole system on the in-process sandbox, with the example
 * configuration and the handlers composed exactly as `nvcf-ecr sandbox` composes them. Each step asserts
 * what it shows; the first expectation that does not hold stops the story, and the summary says which step
 * failed and why. Loopback only: every sandbox listener is on 127.0.0.1.
 */

/** The story, in order. Later steps build on earlier ones (the images pulled, the keys rotated). */
export const DEMO_STEPS: readonly DemoStep[] = [bootstrap, images, pull, rotate, retire, audit];

export interface DemoOptions {
  io: CliIo;
  /** Where `reports/` is written. */
  cwd: string;
  /** How unforgiving the sandbox is (`nvcf-ecr demo` runs on `aws` unless told otherwise). */
  profile: ProfileName;
  /** Seconds a new access key takes to work in the sandbox; default: the profile's. */
  keyPropagationSeconds?: number | undefined;
  /** Sandbox and handler log lines at or above this level go to stderr. */
  logLevel: LogLevel;
  /** Called once the sandbox runs, before the first step (tests watch what it issues, or break it). */
  onSandbox?: ((sb: RunningSandbox) => void | Promise<void>) | undefined;
}

/** `nvcf-ecr demo --json`: schema version 1. */
export interface DemoReport {
  schemaVersion: 1;
  ok: boolean;
  elapsedMs: number;
  steps: SummaryRow[];
  /** The local copies of the audit reports, relative to the current directory; null when the audit did not run. */
  reports: { json: string; markdown: string; html: string } | null;
}

export async function runDemo(options: DemoOptions): Promise<DemoReport> {
  const started = Date.now();
  const { io, cwd } = options;
  const narrator = createNarrator(io);
  const project = findProject(cwd, import.meta.url);
  if (!project) {
    throw new CliError(
      'the demo runs in a clone of nvcf-ecr-autopilot (it tells the story of the example nvcf-ecr.config.ts with the ' +
        "project's test images): clone it, run 'npm install', then 'npm start'",
      2,
    );
  }
  const config = await loadExampleConfig(project.configPath);
  const shown = relative(cwd, project.configPath);
  narrator.line(
    `nvcf-ecr demo: the whole system on the local sandbox, with ${shown.startsWith('..') ? project.configPath : shown}`,
  );
  const sb = await start(config, options, narrator);
  const ctx = createDemoContext(sb, config, project, cwd, narrator);
  const rows: SummaryRow[] = [];
  try {
    await options.onSandbox?.(sb);
    await runSteps(ctx, rows);
  } finally {
    destroyDemoContext(ctx);
    await sb.close();
  }
  const ok = rows.every((r) => r.outcome === 'ok');
  const elapsedMs = Date.now() - started;
  const auditRan = rows.find((r) => r.step.endsWith(audit.name))?.outcome === 'ok';
  narrator.line('');
  narrator.line(
    ok
      ? narrator.style.green(
          `demo finished in ${(elapsedMs / 1000).toFixed(1)} s: every step did what it should`,
        )
      : narrator.style.red(
          `demo FAILED in ${(elapsedMs / 1000).toFixed(1)} s at step ${rows.find((r) => r.outcome === 'FAILED')?.step}`,
        ),
  );
  return {
    schemaVersion: 1,
    ok,
    elapsedMs,
    steps: rows,
    reports: auditRan
      ? {
          json: `reports/${REPORT_FILES.json}`,
          markdown: `reports/${REPORT_FILES.markdown}`,
          html: `reports/${REPORT_FILES.html}`,
        }
      : null,
  };
}

/** Prints the summary table to stdout (coloured only when stdout is a terminal). */
export function printSummary(io: CliIo, report: DemoReport): void {
  io.stdout.write(formatSummary(report.steps, styleFor(io.stdout, io.env)));
}

async function loadExampleConfig(path: string): Promise<Config> {
  try {
    return await loadConfig(path);
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message, 2, { cause: err });
    throw err;
  }
}

async function start(config: Config, options: DemoOptions, narrator: Narrator): Promise<RunningSandbox> {
  const logger = createLogger({
    level: options.logLevel,
    sink: (r) => {
      const fields = Object.keys(r.fields).length > 0 ? ` ${JSON.stringify(r.fields)}` : '';
      options.io.stderr.write(`      ${narrator.style.dim(`sandbox ${r.level}: ${r.message}${fields}`)}\n`);
    },
  });
  const { SandboxError, startSandbox } = await loadSandbox();
  let sb: RunningSandbox;
  try {
    sb = await startSandbox({
      config,
      handlers: sandboxHandlers(),
      profile: options.profile,
      // The functions' waits (IAM's propagation, NVCF's caches on the `aws` profile) pass on the virtual clock:
      // the story keeps every delay and takes seconds.
      virtualWaits: true,
      ...(options.keyPropagationSeconds !== undefined
        ? { keyPropagationSeconds: options.keyPropagationSeconds }
        : {}),
      logger,
    });
  } catch (err) {
    if (err instanceof SandboxError)
      throw new CliError(`the sandbox could not start: ${err.message}`, 2, { cause: err });
    throw err;
  }
  narrator.line(
    narrator.style.dim(
      `sandbox on 127.0.0.1: AWS ${sb.awsEndpoint}, NVCF ${sb.nvcfEndpoint}, control ${sb.controlEndpoint} ` +
        `(account ${sb.accountId}, ${sb.region}; profile ${sb.world.profile.name}: new keys work after ` +
        `${sb.world.profile.knobs.iamPropagationSeconds} s, NVCF lists credentials as of up to ` +
        `${sb.world.profile.knobs.nvcfListCacheSeconds} s ago; the functions wait on the virtual clock)`,
    ),
  );
  return sb;
}

async function runSteps(ctx: DemoContext, rows: SummaryRow[]): Promise<void> {
  const total = DEMO_STEPS.length;
  let failed = false;
  for (const [i, step] of DEMO_STEPS.entries()) {
    const label = `${i + 1} ${step.name}`;
    if (failed) {
      rows.push({ step: label, outcome: 'not run', evidence: 'an earlier step failed' });
      continue;
    }
    ctx.narrator.step(i + 1, total, step.title, step.why);
    try {
      const { evidence } = await step.run(ctx);
      rows.push({ step: label, outcome: 'ok', evidence });
    } catch (err) {
      failed = true;
      const why = describeFailure(err);
      ctx.narrator.fail(why);
      rows.push({ step: label, outcome: 'FAILED', evidence: why });
    }
  }
}

/** A failed expectation says itself; anything else (an API error, a bug) is named with its class. */
function describeFailure(err: unknown): string {
  if (err instanceof DemoStepError) return redactString(err.message);
  if (err instanceof Error) return redactString(`${err.name}: ${err.message}`);
  return redactString(String(err));
}
