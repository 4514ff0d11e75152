import { AUDIT_METRICS, SEVERITIES } from '@nvcf-ecr/core/audit';
import { FUNCTIONS, NOTIFY_VERDICTS } from '@nvcf-ecr/core/events';
import { METRIC_NAMESPACE } from '@nvcf-ecr/core/metrics';
import { ROTATION_METRICS } from '@nvcf-ecr/core/rotation';
import { VERDICT_METRIC } from '@nvcf-ecr/core/validation';
import { Duration, type Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type { StackSettings } from './stack.ts';

/**
 * The operator's dashboard and the alarms that page through the notification topic, both from the EMF
 * metrics the functions emit (namespace `NvcfEcrAutopilot`, core `metrics.ts`) and Lambda's own metrics:
 *
 * - per registry: the current key's age and the days since the last completed rotation (emitted hourly by the
 *   retirement, dimension `Registry`), and rotation step failures (`RotationStepFailed`, `Registry` × `Step`);
 * - push verdicts by outcome (`ImageValidations`, `Verdict`), audit failures by severity (`AuditFailures`,
 *   `Severity`), and each function's errors and duration (`AWS/Lambda`, `FunctionName`).
 *
 * An EMF metric is published with exactly the dimension set it was emitted with, so a registry's step
 * failures are the sum of one metric per step (CloudWatch metric math), not a query on `Registry` alone
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html).
 */

const ROTATION_STEPS = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const;
const VERDICTS = ['compliant', ...NOTIFY_VERDICTS] as const;
/** Severities at or above `high`: what pages. */
const PAGING_SEVERITIES = SEVERITIES.slice(0, SEVERITIES.indexOf('high') + 1);

export interface Observability {
  readonly dashboard: cloudwatch.Dashboard;
  readonly alarms: cloudwatch.Alarm[];
}

function metric(name: string, dimensions: Record<string, string>, statistic: string, period: Duration) {
  return new cloudwatch.Metric({
    namespace: METRIC_NAMESPACE,
    metricName: name,
    dimensionsMap: dimensions,
    statistic,
    period,
  });
}

/** A registry's failed rotation steps, all steps summed (one metric per step, see the file's comment). */
function stepFailures(registry: string, period: Duration): cloudwatch.MathExpression {
  const usingMetrics = Object.fromEntries(
    ROTATION_STEPS.map((step, i) => [
      `s${i}`,
      metric(ROTATION_METRICS.stepFailed, { Registry: registry, Step: step }, 'Sum', period),
    ]),
  );
  return new cloudwatch.MathExpression({
    expression: `FILL(${Object.keys(usingMetrics).join(', 0) + FILL(')}, 0)`,
    usingMetrics,
    label: 'Failed rotation steps',
    period,
  });
}

function auditFailuresAtLeastHigh(period: Duration): cloudwatch.MathExpression {
  const usingMetrics = Object.fromEntries(
    PAGING_SEVERITIES.map((severity) => [
      severity,
      metric(AUDIT_METRICS.failures, { Severity: severity }, 'Maximum', period),
    ]),
  );
  return new cloudwatch.MathExpression({
    expression: Object.keys(usingMetrics).join(' + '),
    usingMetrics,
    label: `Audit failures (${PAGING_SEVERITIES.join(', ')})`,
    period,
  });
}

export function observability(stack: Stack, settings: StackSettings): Observability {
  const { config } = settings;
  const hour = Duration.hours(1);
  const alarms: cloudwatch.Alarm[] = [];
  const dashboard = new cloudwatch.Dashboard(stack, 'Dashboard', {
    dashboardName: settings.named('nvcf-ecr-autopilot'),
    defaultInterval: Duration.days(30),
  });
  const limit = config.audit.maxKeyAgeDays;

  for (const registry of config.registries) {
    const dims = { Registry: registry.name };
    const keyAge = metric(ROTATION_METRICS.currentKeyAge, dims, 'Maximum', hour);
    const sinceRotation = metric(ROTATION_METRICS.daysSinceRotation, dims, 'Maximum', hour);
    dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown: `## Registry \`${registry.name}\` (${registry.hostname})`,
        width: 24,
        height: 1,
      }),
      new cloudwatch.GraphWidget({
        title: `${registry.name}: current key age (days)`,
        left: [keyAge.with({ label: 'Key age' })],
        leftAnnotations: [{ value: limit, label: `audit.maxKeyAgeDays (${limit})`, color: '#d62728' }],
        leftYAxis: { min: 0 },
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: `${registry.name}: days since the last successful rotation`,
        left: [sinceRotation.with({ label: 'Days since rotation' })],
        leftYAxis: { min: 0 },
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: `${registry.name}: failed rotation steps`,
        left: [stepFailures(registry.name, hour)],
        leftYAxis: { min: 0 },
        width: 8,
      }),
    );
    alarms.push(
      new cloudwatch.Alarm(stack, `RotationFailedAlarm-${registry.name}`, {
        alarmName: settings.named(`nvcf-ecr-rotation-failed-${registry.name}`),
        alarmDescription: `A rotation step of registry ${registry.name} failed: read the rotation function's log and rotate again (nvcf-ecr rotate ${registry.name}).`,
        metric: stepFailures(registry.name, Duration.minutes(5)),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      new cloudwatch.Alarm(stack, `KeyAgeAlarm-${registry.name}`, {
        alarmName: settings.named(`nvcf-ecr-key-age-${registry.name}`),
        alarmDescription: `The current pull key of registry ${registry.name} is older than audit.maxKeyAgeDays (${limit}): rotations are not completing.`,
        metric: keyAge,
        threshold: limit,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        // The retirement emits the age hourly; silence means the function is not running, which the function
        // error metrics show, so it does not flip this alarm either way.
        treatMissingData: cloudwatch.TreatMissingData.IGNORE,
      }),
    );
  }

  const day = Duration.days(1);
  dashboard.addWidgets(
    new cloudwatch.TextWidget({ markdown: '## Pushes, audits and functions', width: 24, height: 1 }),
    new cloudwatch.GraphWidget({
      title: 'Push verdicts by outcome',
      left: VERDICTS.map((v) => metric(VERDICT_METRIC, { Verdict: v }, 'Sum', day).with({ label: v })),
      stacked: true,
      width: 12,
    }),
    new cloudwatch.GraphWidget({
      title: 'Audit failures by severity (latest run per day)',
      left: SEVERITIES.map((s) =>
        metric(AUDIT_METRICS.failures, { Severity: s }, 'Maximum', day).with({ label: s }),
      ),
      stacked: true,
      width: 12,
    }),
  );
  const keys = Object.keys(FUNCTIONS) as (keyof typeof FUNCTIONS)[];
  const lambda = (name: string, key: keyof typeof FUNCTIONS, statistic: string) =>
    new cloudwatch.Metric({
      namespace: 'AWS/Lambda',
      metricName: name,
      dimensionsMap: { FunctionName: settings.named(FUNCTIONS[key].name) },
      statistic,
      period: hour,
      label: FUNCTIONS[key].name,
    });
  dashboard.addWidgets(
    new cloudwatch.GraphWidget({
      title: 'Function errors',
      left: keys.map((k) => lambda('Errors', k, 'Sum')),
      width: 12,
    }),
    new cloudwatch.GraphWidget({
      title: 'Function duration (p95, ms)',
      left: keys.map((k) => lambda('Duration', k, 'p95')),
      width: 12,
    }),
  );

  alarms.push(
    new cloudwatch.Alarm(stack, 'AuditFailuresHighAlarm', {
      alarmName: settings.named('nvcf-ecr-audit-failures-high'),
      alarmDescription:
        'The last compliance audit has failures of severity high or critical: open its report and follow each remediation.',
      metric: auditFailuresAtLeastHigh(Duration.hours(1)),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      // One data point per audit run: between runs the alarm keeps the last run's verdict.
      treatMissingData: cloudwatch.TreatMissingData.IGNORE,
    }),
  );
  return { dashboard, alarms };
}
