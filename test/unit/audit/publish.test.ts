import {
  AUDIT_METRICS,
  auditEventDetail,
  auditMetrics,
  complianceAuditDetailSchema,
  publishAudit,
  reportKeys,
} from '@nvcf-ecr/core/audit';
import { AuditError, EventPublishError } from '@nvcf-ecr/core/errors';
import { compileEventPattern, DETAIL_TYPES, EVENT_SOURCE, notificationPatterns } from '@nvcf-ecr/core/events';
import { silentLogger } from '@nvcf-ecr/core/log';
import type { MetricRecord } from '@nvcf-ecr/core/metrics';
import { sdkEventBus, sdkObjectStore } from '@nvcf-ecr/core/ports/sdk';
import { describe, expect, it } from 'vitest';
import { expectRejection } from '../core/expect-error.ts';
import { fakeClient, finding, report } from './fakes.ts';

const failing = report([
  ...Array.from({ length: 12 }, (_, i) =>
    finding('image.platforms', {
      status: 'fail',
      severity: 'high',
      resource: `host/app:v${String(i).padStart(2, '0')}`,
    }),
  ),
  finding('image.index-children-present', {
    status: 'fail',
    severity: 'info',
    resource: 'public.ecr.aws/a/b',
  }),
  finding('iam.access-key-age', { status: 'exempt', severity: 'medium' }),
]);
const onlyInfo = report([
  finding('image.platforms', { status: 'fail', severity: 'info', resource: 'public.ecr.aws/a/b' }),
  finding('iam.access-key-age', { status: 'exempt' }),
  finding('iam.access-key-count'),
]);
const envelope = (detail: unknown) => ({
  source: EVENT_SOURCE,
  'detail-type': DETAIL_TYPES.complianceAudit,
  detail,
});
const auditFailed = compileEventPattern(notificationPatterns()['audit-failed']);

describe('Function: reportKeys', () => {
  it('names the three reports under reports/<timestamp>/ without colons', () => {
    expect(reportKeys('bucket', '2026-01-02T03:04:05.678Z')).toEqual({
      bucket: 'bucket',
      json: 'reports/2026-01-02T03-04-05-678Z/audit.json',
      markdown: 'reports/2026-01-02T03-04-05-678Z/audit.md',
      html: 'reports/2026-01-02T03-04-05-678Z/audit.html',
    });
  });
});

describe('Function: auditEventDetail', () => {
  it('validates against the published detail schema and carries at most 10 findings, most severe first, no info', () => {
    const detail = auditEventDetail(failing, reportKeys('b', failing.generatedAt));
    expect(complianceAuditDetailSchema.safeParse(detail).success).toBe(true);
    expect(detail.topFindings).toHaveLength(10);
    expect(detail.topFindings.every((t) => t.severity === 'high' && t.status === 'fail')).toBe(true);
    expect(detail.summary).toEqual(failing.summary);
    expect(detail.report?.json).toBe('reports/2026-01-02T03-04-05-678Z/audit.json');
  });

  it('matches the notification rule exactly when a failure that calls for action remains', () => {
    expect(auditFailed.matches(envelope(auditEventDetail(failing, null)))).toBe(true);
    // Informational and exempted findings only: quiet.
    expect(auditFailed.matches(envelope(auditEventDetail(onlyInfo, null)))).toBe(false);
    expect(onlyInfo.summary.failed).toBe(0);
  });
});

describe('Function: auditMetrics', () => {
  it('counts findings by status and failures by severity, with the duration and the images resolved', () => {
    const metrics = auditMetrics(failing);
    const find = (name: string, dims: Record<string, string>) =>
      metrics.find((m) => m.name === name && JSON.stringify(m.dimensions) === JSON.stringify(dims))?.value;
    expect(find(AUDIT_METRICS.findings, { Status: 'fail' })).toBe(13);
    expect(find(AUDIT_METRICS.findings, { Status: 'exempt' })).toBe(1);
    expect(find(AUDIT_METRICS.failures, { Severity: 'high' })).toBe(12);
    expect(find(AUDIT_METRICS.failures, { Severity: 'info' })).toBe(1);
    expect(metrics).toContainEqual({ name: AUDIT_METRICS.duration, value: 1234, unit: 'Milliseconds' });
    expect(metrics).toContainEqual({ name: AUDIT_METRICS.images, value: 3 });
  });
});

describe('Function: publishAudit', () => {
  it('stores the three reports, then puts one event on the bus naming them, then emits the metrics', async () => {
    const order: string[] = [];
    const s3 = fakeClient({
      PutObjectCommand: (input: Record<string, unknown>) => {
        order.push(`s3 ${String(input['Key'])}`);
        return {};
      },
    });
    const events = fakeClient({
      PutEventsCommand: () => {
        order.push('event');
        return { FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] };
      },
    });
    const metrics: MetricRecord[] = [];
    const out = await publishAudit(failing, {
      objects: sdkObjectStore(s3),
      events: sdkEventBus(events),
      bucket: 'reports-bucket',
      eventBusName: 'nvcf-ecr-autopilot',
      metrics: (m) => metrics.push(m),
      logger: silentLogger,
    });
    expect(order.slice(0, 3).sort()).toEqual([
      's3 reports/2026-01-02T03-04-05-678Z/audit.html',
      's3 reports/2026-01-02T03-04-05-678Z/audit.json',
      's3 reports/2026-01-02T03-04-05-678Z/audit.md',
    ]);
    expect(order[3]).toBe('event');
    expect(s3.calls.map((c) => c.input['ContentType']).sort()).toEqual([
      'application/json',
      'text/html; charset=utf-8',
      'text/markdown; charset=utf-8',
    ]);
    expect(events.calls).toHaveLength(1);
    const entry = ((events.calls[0]?.input['Entries'] ?? []) as Record<string, string>[])[0];
    expect(entry).toMatchObject({
      Source: EVENT_SOURCE,
      DetailType: DETAIL_TYPES.complianceAudit,
      EventBusName: 'nvcf-ecr-autopilot',
    });
    expect(JSON.parse(entry?.['Detail'] ?? '{}')).toEqual(out.detail);
    expect(out.eventId).toBe('e-1');
    expect(metrics).toEqual(auditMetrics(failing));
  });

  it('refuses to publish a detail that breaks its own schema, naming the field (audit README, "The `NVCF Compliance Audit` event")', async () => {
    const events = fakeClient({ PutEventsCommand: { FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] } });
    const s3 = fakeClient({ PutObjectCommand: {} });
    // A negative duration (a clock stepping back mid-run) is no count: the detail schema refuses it.
    await expectRejection(
      () =>
        publishAudit(
          { ...failing, durationMs: -5 },
          {
            objects: sdkObjectStore(s3),
            events: sdkEventBus(events),
            bucket: 'b',
            eventBusName: 'bus',
            metrics: () => {},
            logger: silentLogger,
          },
        ),
      AuditError,
      'The NVCF Compliance Audit event detail does not match complianceAuditDetailSchema (durationMs: ',
      'the reports are stored under reports/2026-01-02T03-04-05-678Z/',
    );
    expect(events.calls).toEqual([]);
    expect(s3.calls).toHaveLength(3);
  });

  it('throws EventPublishError naming the code when EventBridge refuses the entry', async () => {
    const err = await expectRejection(
      () =>
        publishAudit(failing, {
          objects: sdkObjectStore(fakeClient({ PutObjectCommand: {} })),
          events: sdkEventBus(
            fakeClient({
              PutEventsCommand: {
                FailedEntryCount: 1,
                Entries: [{ ErrorCode: 'AccessDeniedException', ErrorMessage: 'no' }],
              },
            }),
          ),
          bucket: 'b',
          eventBusName: 'bus',
          metrics: () => {},
          logger: silentLogger,
        }),
      EventPublishError,
      'events:PutEvents refused the NVCF Compliance Audit event on bus (AccessDeniedException: no)',
      'the reports are stored under reports/2026-01-02T03-04-05-678Z/',
    );
    expect(err.code).toBe('AccessDeniedException');
  });
});
