import { AuditError, EventPublishError } from '../errors.ts';
import { DETAIL_TYPES } from '../events/names.ts';
import { type PutEventsApi, putProjectEvent } from '../events/publish.ts';
import type { Logger } from '../log.ts';
import type { MetricRecord, MetricSink } from '../metrics.ts';
import type { ObjectStore } from '../ports/aws.ts';
import { type AuditReport, CHECK_STATUSES, SEVERITIES } from './model.ts';
import { renderHtml } from './render/html.ts';
import { renderJson } from './render/json.ts';
import { renderMarkdown } from './render/markdown.ts';
import {
  COMPLIANCE_AUDIT_SCHEMA_VERSION,
  type ComplianceAuditDetail,
  complianceAuditDetailSchema,
  EVENT_MAX_TEXT,
  EVENT_TOP_FINDINGS,
} from './schema.ts';

/**
 * What a scheduled audit leaves behind: the three reports under `reports/<timestamp>/` in the report bucket,
 * one `NVCF Compliance Audit` event on the project bus (its `detail.summary.failed` is what the notification
 * rule matches, `events/patterns.ts`), and EMF metrics.
 */

/** The key prefix the stacks grant and expire (`stacks/lib/permissions.ts` REPORT_PREFIX). */
export const AUDIT_REPORT_PREFIX = 'reports/';

export interface ReportLocation {
  readonly bucket: string;
  readonly json: string;
  readonly markdown: string;
  readonly html: string;
}

/** `reports/2026-01-02T03-04-05-678Z/audit.{json,md,html}`: sortable, and free of `:` (awkward in URLs and shells). */
export function reportKeys(bucket: string, generatedAt: string): ReportLocation {
  const stamp = generatedAt.replace(/[:.]/g, '-');
  const base = `${AUDIT_REPORT_PREFIX}${stamp}/audit`;
  return { bucket, json: `${base}.json`, markdown: `${base}.md`, html: `${base}.html` };
}

function clip(text: string): string {
  return text.length <= EVENT_MAX_TEXT ? text : `${text.slice(0, EVENT_MAX_TEXT - 1)}…`;
}

/** The event detail: the summary, where the reports are, and the most severe failures and errors. */
export function auditEventDetail(
  report: AuditReport,
  location: ReportLocation | null,
): ComplianceAuditDetail {
  return {
    schemaVersion: COMPLIANCE_AUDIT_SCHEMA_VERSION,
    generatedAt: report.generatedAt,
    durationMs: report.durationMs,
    registries: report.registries.map((r) => clip(r.name)),
    summary: report.summary,
    report: location,
    topFindings: report.findings
      .filter((f) => (f.status === 'fail' && f.severity !== 'info') || f.status === 'error')
      .slice(0, EVENT_TOP_FINDINGS)
      .map((f) => ({
        checkId: f.checkId,
        status: f.status as 'fail' | 'error',
        severity: f.severity,
        registry: f.registry === undefined ? null : clip(f.registry),
        resource: clip(f.resource),
        message: clip(f.message),
      })),
  };
}

/** Metric names (EMF, namespace `NvcfEcrAutopilot`). */
export const AUDIT_METRICS = {
  /** Findings, dimension `Status`. */
  findings: 'AuditFindings',
  /** Non-exempted failures, dimension `Severity`. */
  failures: 'AuditFailures',
  duration: 'AuditDuration',
  images: 'AuditImagesResolved',
} as const;

/** The audit's metrics: findings by status, failures by severity, duration, images resolved. */
export function auditMetrics(report: AuditReport): MetricRecord[] {
  return [
    ...CHECK_STATUSES.map((status) => ({
      name: AUDIT_METRICS.findings,
      value: report.summary.byStatus[status],
      dimensions: { Status: status },
    })),
    ...SEVERITIES.map((severity) => ({
      name: AUDIT_METRICS.failures,
      value: report.summary.bySeverity[severity],
      dimensions: { Severity: severity },
    })),
    { name: AUDIT_METRICS.duration, value: report.durationMs, unit: 'Milliseconds' },
    { name: AUDIT_METRICS.images, value: report.stats['images'] ?? 0 },
  ];
}

export interface PublishDeps {
  /** The report bucket's store. */
  readonly objects: ObjectStore;
  readonly events: PutEventsApi;
  readonly bucket: string;
  readonly eventBusName: string;
  readonly metrics: MetricSink;
  readonly logger: Logger;
}

export interface PublishedAudit {
  readonly location: ReportLocation;
  readonly detail: ComplianceAuditDetail;
  readonly eventId: string | undefined;
}

/**
 * Stores the reports, then announces them. The reports go first so that the event never points at objects
 * that do not exist; a failed put or a failed event entry throws (Lambda retries the audit, and the
 * on-failure destination reports it if the retries fail too).
 */
export async function publishAudit(report: AuditReport, deps: PublishDeps): Promise<PublishedAudit> {
  const location = reportKeys(deps.bucket, report.generatedAt);
  const objects: [string, string, string][] = [
    [location.json, renderJson(report), 'application/json'],
    [location.markdown, renderMarkdown(report), 'text/markdown; charset=utf-8'],
    [location.html, renderHtml(report), 'text/html; charset=utf-8'],
  ];
  await Promise.all(
    objects.map(([key, body, contentType]) => deps.objects.put(deps.bucket, key, body, contentType)),
  );
  const detail = auditEventDetail(report, location);
  const reportsAt = location.json.replace(/audit\.json$/, '');
  // Every event is checked against its published schema before it is put
  // (packages/core/src/events/README.md): consumers route and store it by that contract. A detail that breaks
  // it is a bug here, not something to send.
  const checked = complianceAuditDetailSchema.safeParse(detail, { reportInput: false });
  if (!checked.success) {
    const issues = checked.error.issues.map((i) => `${i.path.join('.') || '(detail)'}: ${i.message}`);
    throw new AuditError(
      `The ${DETAIL_TYPES.complianceAudit} event detail does not match complianceAuditDetailSchema (${issues.join('; ')}): this is a bug in nvcf-ecr, please report it; the event was not published, the reports are stored under ${reportsAt}`,
    );
  }
  let eventId: string | undefined;
  try {
    eventId = await putProjectEvent(deps.events, deps.eventBusName, {
      detailType: DETAIL_TYPES.complianceAudit,
      detail,
      subject: `the ${DETAIL_TYPES.complianceAudit} event`,
    });
  } catch (err) {
    // Say where the reports went: they are stored even though the event (and its notification) is not.
    if (err instanceof EventPublishError) {
      throw new EventPublishError(err.code, `${err.message}; the reports are stored under ${reportsAt}`, {
        cause: err,
      });
    }
    throw err;
  }
  for (const m of auditMetrics(report)) deps.metrics(m);
  deps.logger.info('audit published', {
    reports: reportsAt,
    bucket: deps.bucket,
    eventId,
    failed: report.summary.failed,
    errors: report.summary.errors,
    worstSeverity: report.summary.worstSeverity,
  });
  return { location, detail, eventId };
}
