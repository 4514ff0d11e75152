import * as z from 'zod/mini';
import { AUDIT_REPORT_SCHEMA_VERSION, CHECK_IDS, CHECK_STATUSES, SEVERITIES } from './model.ts';

/**
 * zod/mini schemas of what the audit publishes: the JSON report (`audit.json`) and the `detail` of the
 * `NVCF Compliance Audit` event. Both are contracts with whoever stores, routes or dashboards them, hence
 * versioned: `schemaVersion` changes only when a field is removed or changes meaning; added fields keep it.
 * Tests validate every report and event the audit produces against these.
 */

const count = z.number().check(z.int(), z.gte(0));
const statusCounts = z.strictObject({ fail: count, error: count, exempt: count, pass: count });
const severityCounts = z.strictObject({
  critical: count,
  high: count,
  medium: count,
  low: count,
  info: count,
});

export const auditSummarySchema = z.strictObject({
  total: count,
  passed: count,
  failed: count,
  exempted: count,
  errors: count,
  informational: count,
  byStatus: statusCounts,
  bySeverity: severityCounts,
  worstSeverity: z.nullable(z.enum(SEVERITIES)),
});

export const findingSchema = z.strictObject({
  checkId: z.enum(CHECK_IDS),
  title: z.string(),
  status: z.enum(CHECK_STATUSES),
  severity: z.enum(SEVERITIES),
  registry: z.optional(z.string()),
  resource: z.string().check(z.minLength(1)),
  message: z.string().check(z.minLength(1)),
  evidence: z.record(z.string(), z.unknown()),
  remediation: z.string(),
  exemption: z.optional(z.strictObject({ reason: z.string(), expires: z.string() })),
});

const isoDate = z
  .string()
  .check(z.refine((s) => !Number.isNaN(Date.parse(s)), { message: 'must be an ISO-8601 date-time' }));

export const auditReportSchema = z.strictObject({
  schemaVersion: z.literal(AUDIT_REPORT_SCHEMA_VERSION),
  generatedAt: isoDate,
  durationMs: count,
  registries: z.array(
    z.strictObject({
      name: z.string(),
      hostname: z.string(),
      kind: z.enum(['private', 'public']),
      repositories: z.array(z.string()),
      userName: z.string(),
      secretName: z.string(),
      credentialName: z.string(),
    }),
  ),
  summary: auditSummarySchema,
  findings: z.array(findingSchema),
  checks: z.array(
    z.strictObject({
      id: z.enum(CHECK_IDS),
      title: z.string(),
      severity: z.enum(SEVERITIES),
      proves: z.string(),
      remediation: z.string(),
    }),
  ),
  stats: z.record(z.string(), count),
});

export const COMPLIANCE_AUDIT_SCHEMA_VERSION = 1;

/** At most this many findings travel in the event (the report holds them all); EventBridge entries are ≤ 256 KB. */
export const EVENT_TOP_FINDINGS = 10;
/** Longest message in the event. */
export const EVENT_MAX_TEXT = 512;

const text = z.string().check(z.maxLength(EVENT_MAX_TEXT));

export const complianceAuditDetailSchema = z.strictObject({
  schemaVersion: z.literal(COMPLIANCE_AUDIT_SCHEMA_VERSION),
  generatedAt: isoDate,
  durationMs: count,
  /** Names of the audited registries. */
  registries: z.array(text),
  summary: auditSummarySchema,
  /** Where the three reports are, or `null` when they were not stored. */
  report: z.nullable(z.strictObject({ bucket: text, json: text, markdown: text, html: text })),
  /** The most severe failures and errors, in report order. */
  topFindings: z
    .array(
      z.strictObject({
        checkId: z.enum(CHECK_IDS),
        status: z.enum(['fail', 'error']),
        severity: z.enum(SEVERITIES),
        registry: z.nullable(text),
        resource: text,
        message: text,
      }),
    )
    .check(z.maxLength(EVENT_TOP_FINDINGS)),
});

/** The `detail` of `NVCF Compliance Audit`. */
export type ComplianceAuditDetail = z.infer<typeof complianceAuditDetailSchema>;

/**
 * What starts an audit: the schedule's `Scheduled Event` (source `aws.events`), or a manual invocation
 * (`aws lambda invoke --payload '{}'`, optionally `{"registries": ["prod"]}` to audit some registries).
 */
export const auditTriggerSchema = z.union([
  z.looseObject({ source: z.literal('aws.events'), 'detail-type': z.literal('Scheduled Event') }),
  z.strictObject({ registries: z.optional(z.array(z.string().check(z.minLength(1))).check(z.minLength(1))) }),
]);

export type AuditTrigger = z.infer<typeof auditTriggerSchema>;

/** The registries a trigger asks for (a manual invocation's `registries`), or `undefined` for all. */
export function triggerRegistries(trigger: AuditTrigger): string[] | undefined {
  return 'source' in trigger ? undefined : (trigger as { registries?: string[] | undefined }).registries;
}
