/**
 * CloudWatch Embedded Metric Format (EMF): a metric is a structured log line that CloudWatch Logs turns into
 * a metric, with no API call and no extra permission from the Lambda. The domain produces records; the edge
 * writes them to stdout next to the logs.
 */

export const METRIC_NAMESPACE = 'NvcfEcrAutopilot';

export interface MetricRecord {
  readonly name: string;
  readonly value: number;
  readonly unit?: 'Count' | 'Milliseconds' | 'Seconds' | 'None';
  readonly dimensions?: Readonly<Record<string, string>>;
}

/** A sink for metric records; the edge writes them as EMF lines, tests collect them. */
export type MetricSink = (record: MetricRecord) => void;

/** One EMF JSON document for one metric. */
export function emfDocument(
  record: MetricRecord,
  timestamp: Date,
  namespace = METRIC_NAMESPACE,
): Record<string, unknown> {
  const dimensions = record.dimensions ?? {};
  return {
    _aws: {
      Timestamp: timestamp.getTime(),
      CloudWatchMetrics: [
        {
          Namespace: namespace,
          Dimensions: [Object.keys(dimensions)],
          Metrics: [{ Name: record.name, Unit: record.unit ?? 'Count' }],
        },
      ],
    },
    ...dimensions,
    [record.name]: record.value,
  };
}

/** A sink that writes EMF lines through `write` (e.g. `process.stdout.write`). */
export function emfSink(write: (line: string) => void, now: () => Date = () => new Date()): MetricSink {
  return (record) => write(`${JSON.stringify(emfDocument(record, now()))}\n`);
}

/** Drops every metric. */
export const noMetrics: MetricSink = () => {};
