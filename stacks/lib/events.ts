import type { EventPattern } from '@nvcf-ecr/core/events';
import type * as events from 'aws-cdk-lib/aws-events';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';

/**
 * Core's patterns are EventBridge JSON (`detail-type`), CDK's `EventPattern` spells the top-level keys in
 * camelCase and renders them back. Only the renaming happens here, so the template holds core's pattern to the
 * letter (the stack tests compare them).
 */
const TOP_LEVEL: Readonly<Record<string, keyof events.EventPattern>> = {
  version: 'version',
  id: 'id',
  'detail-type': 'detailType',
  source: 'source',
  account: 'account',
  time: 'time',
  region: 'region',
  resources: 'resources',
  detail: 'detail',
};

export function toCdkEventPattern(pattern: EventPattern): events.EventPattern {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(pattern)) {
    const cdkKey = TOP_LEVEL[key];
    if (cdkKey === undefined) {
      throw new Error(
        `Event pattern key '${key}' has no CDK equivalent: use one of ${Object.keys(TOP_LEVEL).join(', ')}`,
      );
    }
    out[cdkKey] = value;
  }
  return out as events.EventPattern;
}

/**
 * What Lambda puts on the project bus when an asynchronous invocation of a scheduled function (audit,
 * retirement) fails after its retries: its on-failure destination is the bus (Lambda guide, "Capturing
 * records of asynchronous invocations": source `lambda`, this detail type).
 */
export const FUNCTION_FAILURE_PATTERN: EventPattern = {
  source: ['lambda'],
  'detail-type': ['Lambda Function Invocation Result - Failure'],
};

/**
 * An EventBridge on-failure destination that grants nothing: the role already allows `events:PutEvents` on
 * the project bus (`permissions.ts`), where the failure becomes a notification ({@link FUNCTION_FAILURE_PATTERN}).
 */
export function busDestination(bus: events.IEventBus): lambda.IDestination {
  return { bind: () => ({ destination: bus.eventBusArn }) };
}

/**
 * An SQS on-failure destination that grants nothing: the role already allows `sqs:SendMessage` on the queue
 * (`permissions.ts`); CDK's `SqsDestination` would add a second grant that the permission list does not show.
 */
export function queueDestination(queue: sqs.IQueue): lambda.IDestination {
  return { bind: () => ({ destination: queue.queueArn }) };
}
