import { EventPublishError } from '../errors.ts';
import type { EventBus, PutEventsResult } from '../ports/aws.ts';
import { EVENT_SOURCE, type ProjectDetailType } from './names.ts';

/**
 * What publishing needs: the bus port (`sdkEventBus(new EventBridgeClient(…))` from `@nvcf-ecr/core/ports/sdk`,
 * the audit bundle's signed call, or a test fake).
 */
export type PutEventsApi = EventBus;

export interface ProjectEvent {
  readonly detailType: ProjectDetailType;
  readonly detail: unknown;
  /** ARNs the event is about (rules and subscribers can filter on them without parsing the detail). */
  readonly resources?: readonly string[];
  readonly time?: Date;
  /** What is being published, for error messages: "the compliant verdict for app:v1". */
  readonly subject: string;
}

/**
 * Puts one event with source {@link EVENT_SOURCE} on the project bus and returns its id. `PutEvents` answers
 * HTTP 200 even when it refuses an entry
 * (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevents.html), so the entry's `ErrorCode` is
 * checked too; either failure is an {@link EventPublishError} naming the code. Callers decide whether that is
 * fatal (a verdict or an audit summary must not be lost: throw, Lambda retries) or only logged (a rotation
 * event reports a state change already made).
 */
export async function putProjectEvent(
  events: PutEventsApi,
  busName: string,
  event: ProjectEvent,
): Promise<string | undefined> {
  let out: PutEventsResult;
  try {
    out = await events.putEvents([
      {
        Source: EVENT_SOURCE,
        DetailType: event.detailType,
        Detail: JSON.stringify(event.detail),
        Resources: [...(event.resources ?? [])],
        EventBusName: busName,
        ...(event.time ? { Time: event.time } : {}),
      },
    ]);
  } catch (err) {
    const name = err instanceof Error ? err.name : typeof err;
    const message = err instanceof Error ? err.message : String(err);
    throw new EventPublishError(
      name,
      `events:PutEvents of ${event.subject} on ${busName} failed (${name}: ${message})`,
      { cause: err },
    );
  }
  const entry = out.Entries?.[0];
  if ((out.FailedEntryCount ?? 0) > 0 || entry?.ErrorCode) {
    const code = entry?.ErrorCode ?? 'Unknown';
    throw new EventPublishError(
      code,
      `events:PutEvents refused ${event.subject} on ${busName} (${code}: ${entry?.ErrorMessage ?? 'no message'})`,
    );
  }
  return entry?.EventId;
}
