import {
  AUDIT_REPORT_SCHEMA_VERSION,
  type AuditReport,
  CHECKS,
  type CheckId,
  checkCatalog,
  compareFindings,
  type Finding,
  summarize,
} from '@nvcf-ecr/core/audit';
import type { Config } from '@nvcf-ecr/core/config';
import { ACCOUNT, EXAMPLE_PLATFORMS, HOST, prodConfig } from '../../helpers/config.ts';

/** Builders and fakes for the audit's unit tests. */

export { ACCOUNT, HOST };

export const config: Config = prodConfig(
  { ...EXAMPLE_PLATFORMS, rotation: { schedule: 'rate(30 days)', graceHours: 24, window: '3h' } },
  { audit: { maxKeyAgeDays: 90 } },
);
export const registry = config.registries[0] as Config['registries'][number];

/** A finding of `checkId` with the check's metadata; `overrides` set what the test is about. */
export function finding(checkId: CheckId, overrides: Partial<Finding> = {}): Finding {
  const def = CHECKS[checkId];
  return {
    checkId,
    title: def.title,
    status: 'pass',
    severity: def.severity,
    registry: 'prod',
    resource: `arn:aws:iam::${ACCOUNT}:user/nvcf-ecr-prod`,
    message: `${checkId} holds.`,
    evidence: {},
    remediation: def.remediation,
    ...overrides,
  };
}

/** A report around `findings`, as the runner assembles it (findings in report order). */
export function report(findings: Finding[], generatedAt = '2026-01-02T03:04:05.678Z'): AuditReport {
  return {
    schemaVersion: AUDIT_REPORT_SCHEMA_VERSION,
    generatedAt,
    durationMs: 1234,
    registries: [
      {
        name: 'prod',
        hostname: HOST,
        kind: 'private',
        repositories: ['inference'],
        userName: 'nvcf-ecr-prod',
        secretName: 'nvcf-ecr/prod/pull-key',
        credentialName: 'ecr-prod',
      },
    ],
    summary: summarize(findings),
    findings: [...findings].sort(compareFindings),
    checks: checkCatalog(),
    stats: { images: 3 },
  };
}

export { fakeClient } from '../../helpers/fake-client.ts';
