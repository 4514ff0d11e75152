import type { JsonServiceDef } from '../../server/aws.ts';
import type { EventsBackend } from './backend.ts';
import { destinationHandlers } from './destination-handlers.ts';
import type { DestinationsBackend } from './destinations.ts';
import { eventsHandlers } from './handlers.ts';

/**
 * EventBridge over AWS JSON 1.1: `X-Amz-Target: AWSEvents.<Op>`, errors with `message` (the SDK's service
 * metadata).
 */
export function eventsService(backend: EventsBackend, destinations?: DestinationsBackend): JsonServiceDef {
  return {
    protocol: 'json',
    id: 'events',
    signingName: 'events',
    targetPrefix: 'AWSEvents',
    messageKey: 'message',
    operations: { ...eventsHandlers(backend), ...(destinations ? destinationHandlers(destinations) : {}) },
  };
}
