import { mkdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { type AuditReport, auditReportSchema, failsAt, type ReportLocation } from '@nvcf-ecr/core/audit';
import { FUNCTIONS, functionArn } from '@nvcf-ecr/core/events';
import { type DemoContext, expectThat } from '../context.ts';
import type { DemoStep } from '../step.ts';

/**
 * Step 6. The compliance audit, run by the deployed audit function (invoked as `aws lambda invoke` would;
 * its schedule runs the same): it reads IAM, Secrets Manager, ECR and NVCF, stores three reports in the
 * report bucket and puts its summary on the project bus. The demo copies the reports to `./reports/`.
 */

/** The local copies: `reports/audit.{json,md,html}` under the current directory (git-ignored). */
export const REPORT_FILES = { json: 'audit.json', markdown: 'audit.md', html: 'audit.html' } as const;

export const audit: DemoStep = {
  name: 'audit',
  title: 'The compliance audit proves the whole chain healthy',
  why: 'An auditor asks for proof, not promises: least privilege, key age, rotation, NVCF credential, images.',
  async run(ctx) {
    const { narrator: n, sb } = ctx;
    const arn = functionArn(sb.world.partition, sb.region, sb.accountId, FUNCTIONS.audit.name);
    n.say(`invoking ${FUNCTIONS.audit.name} (what its schedule, ${ctx.config.audit.schedule}, does)`);
    const result = (await sb.lambda.invoke(arn, {})) as { reports?: ReportLocation } | undefined;
    const location = result?.reports;
    expectThat(
      location,
      `the audit function should return where it stored its reports; it returned ${JSON.stringify(result)}`,
    );
    n.say(
      `reports stored in s3://${location.bucket}/${location.json.slice(0, location.json.lastIndexOf('/'))}/`,
    );
    const dir = join(ctx.cwd, 'reports');
    await mkdir(dir, { recursive: true });
    const written: string[] = [];
    let report: AuditReport | undefined;
    for (const [format, file] of Object.entries(REPORT_FILES) as [keyof typeof REPORT_FILES, string][]) {
      const body = await readObject(ctx, location.bucket, location[format]);
      if (format === 'json') {
        const parsed = auditReportSchema.safeParse(JSON.parse(body));
        expectThat(
          parsed.success,
          `audit.json should match the report schema: ${parsed.error?.message ?? ''}`,
        );
        report = parsed.data as AuditReport;
      }
      await writeFile(join(dir, file), body);
      written.push(relative(ctx.cwd, join(dir, file)) || file);
    }
    expectThat(report, 'the JSON report should have been read');
    const { summary } = report;
    n.say(
      `${summary.total} findings: ${summary.passed} passed, ${summary.failed} failed, ${summary.errors} errors, ` +
        `${summary.informational} informational`,
    );
    for (const f of report.findings.filter((x) => x.status === 'fail' || x.status === 'error')) {
      n.say(`  ${f.status} ${f.severity} ${f.checkId} ${f.resource}: ${f.message}`);
    }
    expectThat(
      !failsAt(report, 'medium'),
      `the audit should find no failure at or above medium; worst: ${summary.worstSeverity}`,
    );
    expectThat(summary.errors === 0, `every check should be evaluated; ${summary.errors} could not be`);
    n.ok(`no failure at or above medium; every check evaluated`);
    n.ok(`written: ${written.join(', ')}`);
    return {
      evidence: `${summary.passed} passed, ${summary.failed} failed, ${summary.errors} errors; ${written.join(', ')}`,
    };
  },
};

async function readObject(ctx: DemoContext, bucket: string, key: string): Promise<string> {
  const out = await ctx.aws.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return (await out.Body?.transformToString()) ?? '';
}
