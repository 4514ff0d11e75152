import type { ComplianceAuditSummary } from '../events/patterns.ts';

/**
 * The audit's data model: checks (Prowler-style metadata, https://github.com/prowler-cloud/prowler: id,
 * title, severity, what a pass proves, how to fix a failure), findings, the report and its summary.
 * Everything here is plain JSON, so the JSON report is the model as it is.
 */

/** Report order: failures first, then checks that could not run, then exempted failures, then passes. */
export const CHECK_STATUSES = ['fail', 'error', 'exempt', 'pass'] as const;
export type CheckStatus = (typeof CHECK_STATUSES)[number];

/** Most severe first. */
export const SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'] as const;
export type Severity = (typeof SEVERITIES)[number];

/**
 * The check ids: a contract (packages/core/src/audit/README.md, "Checks"). Exemptions, dashboards and
 * notifications name checks by these.
 */
export const CHECK_IDS = [
  'iam.pull-policy-least-privilege',
  'iam.access-key-count',
  'iam.access-key-age',
  'iam.key-matches-secret',
  'secret.rotation-enabled',
  'secret.rotation-recent',
  'secret.pending-stuck',
  'nvcf.credential-present',
  'nvcf.credential-current',
  'nvcf.credential-duplicates',
  'image.platforms',
  'image.function-image-present',
  'image.index-children-present',
  'image.function-architecture',
  'ngc.api-key-valid',
  'audit.exemption-expired',
  'audit.incomplete',
] as const;
export type CheckId = (typeof CHECK_IDS)[number];

/** A check's metadata, kept next to its logic. */
export interface CheckDefinition {
  readonly id: CheckId;
  readonly title: string;
  /** Severity of a failure unless the finding says otherwise (e.g. a missing permission vs. an admin grant). */
  readonly severity: Severity;
  /** What a pass proves. */
  readonly proves: string;
  /** How to fix a failure, in general; findings add the specific command where there is one. */
  readonly remediation: string;
}

/** Evidence is JSON: masked key ids, ARNs, dates, digests. Never a secret. */
export type Evidence = Record<string, unknown>;

export interface Finding {
  readonly checkId: CheckId;
  readonly title: string;
  readonly status: CheckStatus;
  readonly severity: Severity;
  /** The registry (by configured name) the finding is about; absent for account-wide checks. */
  readonly registry?: string | undefined;
  /**
   * What the finding is about, stable across runs so exemptions can name it: an IAM user ARN, a secret ARN,
   * `nvcf:registry-credential/<host>/<name>`, an image `host/repo:tag`, a repository `host/repo`,
   * `nvcf:function/<id>/version/<versionId>`, `ngc:api-key/<secret name>`.
   */
  readonly resource: string;
  readonly message: string;
  readonly evidence: Evidence;
  readonly remediation: string;
  /** Set when a configured exemption turned a failure into `exempt`. */
  readonly exemption?: { readonly reason: string; readonly expires: string } | undefined;
}

/** What a check produces before the runner adds its title and defaults. */
export interface FindingDraft {
  readonly status: Exclude<CheckStatus, 'exempt'>;
  readonly resource: string;
  readonly message: string;
  readonly evidence?: Evidence | undefined;
  /** Defaults to the check's severity. */
  readonly severity?: Severity | undefined;
  /** Defaults to the check's remediation; a finding names the exact command where one exists. */
  readonly remediation?: string | undefined;
}

/**
 * The report summary, and the `detail.summary` of the `NVCF Compliance Audit` event. It extends the summary
 * the notification rule matches on (`detail.summary.failed > 0`, `events/patterns.ts`).
 */
export interface AuditSummary extends ComplianceAuditSummary {
  /** Findings. */
  readonly total: number;
  readonly passed: number;
  /**
   * Failures that call for action: status `fail`, not exempted, severity above `info`. Informational
   * findings (what the audit could not verify, e.g. platforms of ECR Public images) are counted in
   * `informational` instead, so they do not notify every day.
   */
  readonly failed: number;
  readonly exempted: number;
  /** Checks that could not be evaluated (an API refused or failed): the audit proves nothing there. */
  readonly errors: number;
  /** Failures of severity `info`. */
  readonly informational: number;
  readonly byStatus: Readonly<Record<CheckStatus, number>>;
  /** Non-exempted failures by severity. */
  readonly bySeverity: Readonly<Record<Severity, number>>;
  /** The most severe non-exempted failure or error, or `null` when there is none. */
  readonly worstSeverity: Severity | null;
}

export const AUDIT_REPORT_SCHEMA_VERSION = 1;

/** One configured registry as the report names it. */
export interface AuditedRegistry {
  readonly name: string;
  readonly hostname: string;
  readonly kind: 'private' | 'public';
  readonly repositories: readonly string[];
  readonly userName: string;
  readonly secretName: string;
  readonly credentialName: string;
}

/** The JSON report (`audit.json`): versioned; `schemaVersion` changes only when a field is removed or changes meaning. */
export interface AuditReport {
  readonly schemaVersion: typeof AUDIT_REPORT_SCHEMA_VERSION;
  /** When the audit started (ISO-8601). */
  readonly generatedAt: string;
  readonly durationMs: number;
  readonly registries: readonly AuditedRegistry[];
  readonly summary: AuditSummary;
  /** Ordered: failures first, by severity, then errors, exemptions and passes ({@link compareFindings}). */
  readonly findings: readonly Finding[];
  /** The checks that ran, with what each proves and how to fix it. */
  readonly checks: readonly CheckDefinition[];
  /** Counts of what was read, for the reader and the benchmark (images resolved, functions, ...). */
  readonly stats: Readonly<Record<string, number>>;
}

const STATUS_RANK: Record<CheckStatus, number> = { fail: 0, error: 1, exempt: 2, pass: 3 };
const SEVERITY_RANK: Record<Severity, number> = { critical: 0, high: 1, medium: 2, low: 3, info: 4 };

/** Severity rank: 0 for critical up to 4 for info. */
export function severityRank(severity: Severity): number {
  return SEVERITY_RANK[severity];
}

/** True when `severity` is at least as severe as `threshold`. */
export function atLeast(severity: Severity, threshold: Severity): boolean {
  return SEVERITY_RANK[severity] <= SEVERITY_RANK[threshold];
}

/**
 * The report's deterministic order: status (fail, error, exempt, pass), severity (critical first; not for
 * passes), check id, registry, resource, message. Two runs over the same state list findings identically, so reports diff.
 */
export function compareFindings(a: Finding, b: Finding): number {
  // Passes are listed by check: their severity is the check's default and says nothing about the finding.
  const severity = a.status === 'pass' ? 0 : SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity];
  return (
    STATUS_RANK[a.status] - STATUS_RANK[b.status] ||
    severity ||
    compareText(a.checkId, b.checkId) ||
    compareText(a.registry ?? '', b.registry ?? '') ||
    compareText(a.resource, b.resource) ||
    compareText(a.message, b.message)
  );
}

// Code-unit order, not locale order: the same on every machine.
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Counts findings by status and severity (see {@link AuditSummary}). */
export function summarize(findings: readonly Finding[]): AuditSummary {
  const byStatus: Record<CheckStatus, number> = { fail: 0, error: 0, exempt: 0, pass: 0 };
  const bySeverity: Record<Severity, number> = { critical: 0, high: 0, medium: 0, low: 0, info: 0 };
  let worst: Severity | null = null;
  let informational = 0;
  for (const f of findings) {
    byStatus[f.status]++;
    if (f.status === 'fail') {
      bySeverity[f.severity]++;
      if (f.severity === 'info') informational++;
    }
    if ((f.status === 'fail' || f.status === 'error') && (worst === null || atLeast(f.severity, worst))) {
      worst = f.severity;
    }
  }
  return {
    total: findings.length,
    passed: byStatus.pass,
    failed: byStatus.fail - informational,
    exempted: byStatus.exempt,
    errors: byStatus.error,
    informational,
    byStatus,
    bySeverity,
    worstSeverity: worst,
  };
}

/**
 * Whether a report fails a gate: some non-exempted failure at or above `threshold` (what `nvcf-ecr audit
 * --fail-on` decides with).
 */
export function failsAt(report: Pick<AuditReport, 'findings'>, threshold: Severity): boolean {
  return report.findings.some((f) => f.status === 'fail' && atLeast(f.severity, threshold));
}
