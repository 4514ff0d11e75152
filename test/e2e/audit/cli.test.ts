import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateAccessKeyCommand } from '@aws-sdk/client-iam';
import { type AuditReport, auditReportSchema } from '@nvcf-ecr/core/audit';
import { assertConfig, loadConfig, serializeConfig } from '@nvcf-ecr/core/config';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../../packages/cli/src/index.ts';
import { control } from '../../helpers/sandbox.ts';
import { captureIo } from '../../unit/cli/io.ts';
import {
  type AuditSandbox,
  expectNoSecrets,
  issuedSecrets,
  resetSandbox,
  startAuditSandbox,
} from './helpers.ts';

/**
 * `nvcf-ecr audit` against the sandbox, in-process as the binary runs it: formats, `--out`, `--registry`,
 * `--fail-on` and the exit codes, configured exemptions (a live one and an expired one), and progress on stderr.
 */

const example = await loadConfig('nvcf-ecr.config.ts');
const USER = example.registries[0]?.userName ?? '';
const USER_ARN = `arn:aws:iam::${example.registries[0]?.accountId}:user/${USER}`;
const config = assertConfig({
  ...JSON.parse(serializeConfig(example)),
  audit: {
    ...example.audit,
    exemptions: [
      {
        checkId: 'iam.access-key-count',
        resource: USER_ARN,
        reason: 'CI key until the migration (TICKET-1)',
        expires: '2999-12-31',
      },
      { checkId: 'iam.key-matches-secret', resource: '*', reason: 'old migration', expires: '2001-01-31' },
    ],
  },
});

let s: AuditSandbox;
let dir: string;
let configFile: string;

beforeAll(async () => {
  s = await startAuditSandbox(config);
  dir = await mkdtemp(join(tmpdir(), 'nvcf-ecr-audit-cli-'));
  configFile = join(dir, 'nvcf-ecr.config.json');
  await writeFile(configFile, serializeConfig(config));
});
afterAll(async () => {
  await s?.sb.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  env = {};
  await resetSandbox(s);
  // The CLI takes credentials from the standard AWS chain, as in a terminal: the environment here.
  vi.stubEnv('AWS_ACCESS_KEY_ID', s.sb.accessKeyId);
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', s.sb.secretAccessKey);
  vi.stubEnv('AWS_REGION', s.sb.region);
});

/** The command's environment (the captured io's, not the process's): `NVCF_ECR_NOW` for one test. */
let env: Record<string, string> = {};

async function cli(...args: string[]) {
  const io = captureIo({ env });
  const code = await main(
    [
      'audit',
      '--config',
      configFile,
      '--endpoint',
      s.sb.awsEndpoint,
      '--nvcf-endpoint',
      s.sb.nvcfEndpoint,
      ...args,
    ],
    io,
  );
  return { code, out: io.out(), err: io.err() };
}

describe('Command: nvcf-ecr audit', () => {
  it('prints a table, reports progress on stderr, and exits 0 on a clean setup whose only failure is low', async () => {
    const { code, out, err } = await cli();
    // The expired exemption is reported even when it matches nothing; low is below the default --fail-on medium.
    expect(code).toBe(0);
    expect(out).toMatch(
      /^FAIL {3}low {6}audit\.exemption-expired {2}exemption:iam\.key-matches-secret\/\*$/m,
    );
    expect(out).toContain('not compliant: 1 failed (worst low), 0 errors, 0 exempted, 20 passed');
    expect(err).toContain('nvcf-ecr audit: auditing prod (123456789012.dkr.ecr.us-east-1.amazonaws.com)');
    expect(err).toContain('nvcf-ecr audit: done: 1 failed, 0 errors');
  });

  it('applies a live exemption, reports an expired one, and exits 1 for a failure at or above --fail-on', async () => {
    const key =
      (await s.aws.iam.send(new CreateAccessKeyCommand({ UserName: USER }))).AccessKey?.AccessKeyId ?? '';
    const { code, out } = await cli('--json');
    expect(code).toBe(1);
    const report = JSON.parse(out) as AuditReport;
    expect(auditReportSchema.safeParse(report).success).toBe(true);
    const byId = (id: string) => report.findings.filter((f) => f.checkId === id);
    expect(byId('iam.access-key-count')).toEqual([
      expect.objectContaining({
        status: 'exempt',
        resource: USER_ARN,
        exemption: { reason: 'CI key until the migration (TICKET-1)', expires: '2999-12-31' },
      }),
    ]);
    expect(byId('iam.key-matches-secret')).toEqual([
      expect.objectContaining({ status: 'fail', severity: 'high' }),
    ]);
    expect(byId('audit.exemption-expired')).toEqual([
      expect.objectContaining({
        status: 'fail',
        severity: 'low',
        resource: 'exemption:iam.key-matches-secret/*',
      }),
    ]);
    expect(report.summary).toMatchObject({ failed: 2, exempted: 1, worstSeverity: 'high' });
    expectNoSecrets('the JSON report', out, await issuedSecrets(s));
    expect(out).not.toContain(key);
  });

  it('exits 0 when every failure is below --fail-on', async () => {
    await s.aws.iam.send(new CreateAccessKeyCommand({ UserName: USER }));
    const { code, out } = await cli('--fail-on', 'critical');
    expect(code).toBe(0);
    expect(out).toContain('not compliant: 2 failed (worst high)');
  });

  it('writes Markdown or HTML to --out and nothing to stdout', async () => {
    const md = join(dir, 'audit.md');
    const html = join(dir, 'audit.html');
    const first = await cli('--format', 'md', '--out', md);
    const second = await cli('--format', 'html', '--out', html);
    expect([first.code, second.code]).toEqual([0, 0]);
    expect(first.out + second.out).toBe('');
    expect(first.err).toContain(`report written to ${md}`);
    expect(await readFile(md, 'utf8')).toMatch(/^# NVCF pull chain compliance audit\n/);
    expect(await readFile(html, 'utf8')).toMatch(/^<!doctype html>/);
  });

  it('exits 2 when a check cannot be evaluated, naming what failed', async () => {
    await control(s.sb, 'POST', 'faults', {
      service: 'iam',
      operation: 'ListAccessKeys',
      times: 10,
      error: { status: 403, code: 'AccessDenied', message: 'not allowed to list keys' },
    });
    const { code, out } = await cli('--json');
    expect(code).toBe(2);
    const report = JSON.parse(out) as AuditReport;
    const count = report.findings.find((f) => f.checkId === 'iam.access-key-count');
    expect(count).toMatchObject({ status: 'error', resource: USER_ARN });
    expect(count?.message).toContain('AccessDenied');
    expect(count?.message).toContain('not allowed to list keys');
  });

  it('judges key ages at NVCF_ECR_NOW, like status, rotate and retire', async () => {
    const later = new Date(s.sb.world.clock.nowMs() + 91 * 86_400_000).toISOString();
    env = { NVCF_ECR_NOW: later };
    const { out } = await cli('--json');
    const report = JSON.parse(out) as AuditReport;
    expect(report.findings.find((f) => f.checkId === 'iam.access-key-age')).toMatchObject({ status: 'fail' });
    expect(report.generatedAt).toBe(later);
    env = {};
    const today = JSON.parse((await cli('--json')).out) as AuditReport;
    expect(today.findings.find((f) => f.checkId === 'iam.access-key-age')).toMatchObject({ status: 'pass' });
    env = { NVCF_ECR_NOW: 'tomorrow' };
    const bad = await cli();
    env = {};
    expect(bad.code).toBe(2);
    expect(bad.err).toContain(
      "NVCF_ECR_NOW must be an ISO-8601 time, e.g. 2026-01-31T12:00:00Z, got 'tomorrow'",
    );
  });

  it('refuses an unknown --registry and a bad --format or --fail-on with exit 2', async () => {
    const unknown = await cli('--registry', 'staging');
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain("unknown registry 'staging': the configuration has 'prod'");
    const format = await cli('--format', 'pdf');
    expect(format.code).toBe(2);
    expect(format.err).toContain("--format must be one of table, json, md, html, got 'pdf'");
    const failOn = await cli('--fail-on', 'severe');
    expect(failOn.code).toBe(2);
    expect(failOn.err).toContain("--fail-on must be one of critical, high, medium, low, info, got 'severe'");
    const both = await cli('--json', '--format', 'md');
    expect(both.code).toBe(2);
    expect(both.err).toContain('--json contradicts --format md');
  });
});
