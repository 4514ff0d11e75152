import type { EventBus, PutEventsResult } from '@nvcf-ecr/core/ports';
import { type AwsServiceOptions, awsJsonService } from './request.ts';

/**
 * The project bus for the audit's Lambda bundle: EventBridge `PutEvents`
 * (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html) over AWS JSON 1.1, target
 * `AWSEvents.PutEvents`, at `events.<region>.amazonaws.com`. `Time` is a timestamp, which the JSON protocols
 * send as epoch seconds (https://smithy.io/2.0/aws/protocols/aws-json-1_1-protocol.html). The answer is
 * returned as is: `FailedEntryCount` and each entry's `ErrorCode` are judged by core (`putProjectEvent`),
 * as they are for the SDK client.
 */
export function eventBridgeBus(options: AwsServiceOptions): EventBus {
  const call = awsJsonService(options, 'events', 'events', 'EVENTBRIDGE');
  return {
    async putEvents(entries) {
      const out = await call('events:PutEvents', 'AWSEvents.PutEvents', {
        Entries: entries.map(({ Time, ...e }) => ({
          ...e,
          ...(Time ? { Time: Time.getTime() / 1000 } : {}),
        })),
      });
      return out as PutEventsResult;
    },
  };
}
