import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { type AuditReport, auditReportSchema, failsAt } from '@nvcf-ecr/core/audit';
import { maskAccessKeyId } from '@nvcf-ecr/core/redact';
import type { RunningSandbox } from '@nvcf-ecr/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_DEFAULT_PROFILE } from '../../packages/cli/src/commands/demo.ts';
import { type DemoReport, printSummary, runDemo } from '../../packages/cli/src/demo/run.ts';
import { captureIo } from '../unit/cli/io.ts';

// `npm start` / `nvcf-ecr demo`: the whole story on the in-process sandbox with the example configuration.
// First as a user runs it (the real executable, in an empty directory, without any AWS or NVCF credentials),
// then in-process to watch what the sandbox issued and prove no secret left it, and once broken on purpose
// to prove the demo fails loudly, naming the step.

const BIN = resolve('packages/cli/bin/nvcf-ecr.js');
const STEPS = ['1 bootstrap', '2 push images', '3 NVCF pull', '4 rotate', '5 retire', '6 audit'];

/** The process environment without AWS or NVCF settings: the demo needs no account. */
function bareEnvironment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { NO_COLOR: '1' };
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('AWS_') && !k.startsWith('NVCF_') && !k.startsWith('NGC_') && k !== 'NO_COLOR')
      env[k] = v;
  }
  return env;
}

async function readReport(dir: string): Promise<AuditReport> {
  const parsed = auditReportSchema.safeParse(
    JSON.parse(await readFile(join(dir, 'reports', 'audit.json'), 'utf8')),
  );
  expect(parsed.success, parsed.error?.message).toBe(true);
  return parsed.data as AuditReport;
}

describe('Command: nvcf-ecr demo, as a user runs it', () => {
  let dir: string;
  let result: { code: number; stdout: string; stderr: string };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nvcf-ecr-demo-'));
    try {
      const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, 'demo'], {
        cwd: dir,
        env: bareEnvironment(),
        timeout: 180_000,
      });
      result = { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      result = { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
    }
  }, 200_000);
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('exits 0 and prints the summary table on stdout, every step ok', () => {
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^Step +Outcome +Evidence$/);
    for (const step of STEPS) expect(result.stdout).toMatch(new RegExp(`^${step} +ok +\\S`, 'm'));
  });

  it('shows the evidence of each step in the summary', () => {
    const out = result.stdout;
    expect(out).toMatch(/^1 bootstrap +ok +key AKIA…[A-Z0-9]{4} AWSCURRENT, Active$/m);
    // The example configuration requires linux/arm64 in inference-gb200 (GB200): amd64-only is non-compliant.
    expect(out).toMatch(/^ +inference-gb200:v1 non-compliant \(missing linux\/arm64\)$/m);
    expect(out).toMatch(/^ +inference-gb200:v1 compliant$/m);
    expect(out).toMatch(/^3 NVCF pull +ok +2\/2 pulls ok with credential \S+$/m);
    expect(out).toMatch(/^4 rotate +ok +(AKIA…[A-Z0-9]{4}) → (?!\1)AKIA…[A-Z0-9]{4}$/m);
    expect(out).toMatch(/^ +(\d+)\/\1 pulls ok during the rotation$/m);
    expect(out).toMatch(/^5 retire +ok +AKIA…[A-Z0-9]{4} Inactive after 25 h$/m);
    expect(out).toMatch(/^ +reports\/audit\.json, reports\/audit\.md, reports\/audit\.html$/m);
  });

  it('runs on the aws profile by default, IAM’s and NVCF’s delays waited out on the virtual clock', () => {
    expect(DEMO_DEFAULT_PROFILE).toBe('aws');
    expect(result.stderr).toContain(
      'profile aws: new keys work after 10 s, NVCF lists credentials as of up to 60 s ago; the functions wait on the virtual clock',
    );
  });

  it('narrates every step on stderr, with the elapsed time, on loopback only', () => {
    for (let i = 1; i <= STEPS.length; i++) expect(result.stderr).toContain(`\n[${i}/${STEPS.length}] `);
    expect(result.stderr).toMatch(/\ndemo finished in \d+\.\d s: every step did what it should\n$/);
    const urls = result.stderr.match(/https?:\/\/[^\s,)]+/g) ?? [];
    expect(urls.length).toBeGreaterThan(0);
    for (const url of urls) expect(new URL(url).hostname).toBe('127.0.0.1');
  });

  it('writes the audit reports under ./reports: valid JSON with no failure at or above medium, Markdown, HTML', async () => {
    const report = await readReport(dir);
    expect(failsAt(report, 'medium')).toBe(false);
    expect(report.summary.errors).toBe(0);
    expect(report.registries.map((r) => r.name)).toEqual(['prod']);
    const byCheck = new Map(report.findings.map((f) => [`${f.checkId} ${f.resource}`, f.status]));
    expect(byCheck.get('iam.access-key-count arn:aws:iam::123456789012:user/nvcf-ecr-prod')).toBe('pass');
    const md = await readFile(join(dir, 'reports', 'audit.md'), 'utf8');
    expect(md).toMatch(/^# /);
    const html = await readFile(join(dir, 'reports', 'audit.html'), 'utf8');
    expect(html.toLowerCase().startsWith('<!doctype html>')).toBe(true);
  });

  it('is what npm start runs', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> };
    const cli = JSON.parse(readFileSync('packages/cli/package.json', 'utf8')) as {
      bin: Record<string, string>;
    };
    expect(pkg.scripts['start']).toBe('nvcf-ecr demo');
    expect(resolve('packages/cli', cli.bin['nvcf-ecr'] ?? '')).toBe(BIN);
  });
});

describe('Function: runDemo', () => {
  it('leaks no secret the sandbox issued into its output, logs, reports or events', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nvcf-ecr-demo-'));
    const io = captureIo();
    const issued = new Map<string, string>();
    let sandbox: RunningSandbox | undefined;
    const collect = (sb: RunningSandbox) => {
      for (const k of sb.world.iam.keys.values()) issued.set(k.accessKeyId, k.secretAccessKey);
    };
    let report: DemoReport;
    try {
      report = await runDemo({
        io,
        cwd: dir,
        profile: DEMO_DEFAULT_PROFILE,
        // Every log line the sandbox and the functions write goes to the captured stderr, and is scanned.
        logLevel: 'debug',
        onSandbox: (sb) => {
          sandbox = sb;
          sb.onCall(() => collect(sb));
        },
      });
      const sb = sandbox as RunningSandbox;
      collect(sb);
      const events = (
        sb.modules.find((m) => m.name === 'events')?.control?.['GET events'] as
          | ((body: unknown, query: URLSearchParams) => unknown)
          | undefined
      )?.(undefined, new URLSearchParams());
      expect(events).toBeDefined();
      const files = await Promise.all(
        ['audit.json', 'audit.md', 'audit.html'].map((f) => readFile(join(dir, 'reports', f), 'utf8')),
      );
      expect(report.ok).toBe(true);
      // The bootstrap key and the rotated one.
      expect(issued.size).toBe(2);
      // Both rotations waited for IAM to know their new key (10 s on the aws profile from its creation, which
      // came a moment before setSecret's wait began), on the virtual clock.
      const waited = [...io.err().matchAll(/the new key works \{[^\n]*"waitedMs":(\d+)/g)].map((m) =>
        Number(m[1]),
      );
      expect(waited).toHaveLength(2);
      for (const ms of waited) expect(ms).toBeGreaterThan(8_000);
      const haystack = [
        io.out(),
        io.err(),
        ...files,
        JSON.stringify(events),
        JSON.stringify(sb.lambda.invocations),
        JSON.stringify(sb.lambda.deadLetters),
      ].join('\n');
      const needles: [string, string][] = [
        ['admin secret access key', sb.secretAccessKey],
        ['NGC API key', sb.ngcApiKey],
      ];
      for (const [id, secret] of issued) {
        needles.push([`secret of ${maskAccessKeyId(id)}`, secret]);
        needles.push([
          `base64 credential of ${maskAccessKeyId(id)}`,
          Buffer.from(`${id}:${secret}`).toString('base64'),
        ]);
        needles.push([`base64 secret of ${maskAccessKeyId(id)}`, Buffer.from(secret).toString('base64')]);
        needles.push([`unmasked key id ${maskAccessKeyId(id)}`, id]);
      }
      expect(needles.filter(([, s]) => haystack.includes(s)).map(([what]) => what)).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('stops at the first step whose expectation fails, names it, and reports the rest as not run', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nvcf-ecr-demo-'));
    const io = captureIo({ env: { NO_COLOR: '1' } });
    try {
      const report = await runDemo({
        io,
        cwd: dir,
        profile: 'ideal',
        keyPropagationSeconds: 0,
        logLevel: 'error',
        // The registry NVCF pulls manifests from answers 503 to everything: pushes and verdicts (through the ECR
        // API) still work, NVCF's pulls do not.
        onSandbox: async (sb) => {
          const res = await fetch(`${sb.controlEndpoint}/_sandbox/faults`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({
              service: 'registry',
              operation: '*',
              error: { status: 503, code: 'UNAVAILABLE', message: 'injected outage' },
              times: 1000,
            }),
          });
          expect(res.status).toBe(200);
        },
      });
      expect(report.ok).toBe(false);
      expect(report.reports).toBeNull();
      expect(report.steps.map((s) => [s.step, s.outcome])).toEqual([
        ['1 bootstrap', 'ok'],
        ['2 push images', 'ok'],
        ['3 NVCF pull', 'FAILED'],
        ['4 rotate', 'not run'],
        ['5 retire', 'not run'],
        ['6 audit', 'not run'],
      ]);
      expect(report.steps[2]?.evidence).toMatch(
        /^NVCF should pull 123456789012\.dkr\.ecr\.us-east-1\.amazonaws\.com\/inference:v1; it failed: registry answered 503/,
      );
      expect(io.err()).toMatch(/\ndemo FAILED in \d+\.\d s at step 3 NVCF pull\n$/);
      printSummary(io, report);
      expect(io.out()).toMatch(/^3 NVCF pull +FAILED +NVCF should pull /m);
      expect(io.out()).toMatch(/^4 rotate +not run +an earlier step failed$/m);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
