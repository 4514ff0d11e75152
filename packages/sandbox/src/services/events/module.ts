import type { ServiceModule } from '../../module.ts';
import type { EventBus, EventEntry, World } from '../../world.ts';
import { EventsBackend } from './backend.ts';
import { type DestinationOptions, DestinationsBackend, type DestinationsSnapshot } from './destinations.ts';
import type { EventsSnapshot } from './records.ts';
import { eventsService } from './routes.ts';

/** How often schedules are checked in real time (the virtual clock's advances are checked at once). */
export const SCHEDULE_TICK_MS = 1000;

/**
 * EventBridge. Besides its API it exposes `bus` — how other emulated services put their events (ECR's
 * `ECR Image Action`) — and the control route `GET /_sandbox/events`: every event put on any bus, in order,
 * with the rules it matched and the targets it went to (`?source=`, `?detailType=`, `?bus=` filter it).
 */
export function eventsModule(
  world: World,
  options: DestinationOptions = {},
): ServiceModule & { bus: EventBus; backend: EventsBackend; destinations: DestinationsBackend } {
  const backend = new EventsBackend(world);
  const destinations = new DestinationsBackend(world, options);
  backend.destinations = destinations;
  let timer: NodeJS.Timeout | undefined;
  let unsubscribe: (() => void) | undefined;

  const fire = () => {
    try {
      backend.fireDueSchedules();
    } catch (err) {
      world.log.error('firing scheduled rules failed', { error: err });
    }
  };

  const bus: EventBus = {
    putServiceEvents(region: string, entries: EventEntry[]) {
      for (const e of entries) {
        let detail: unknown;
        try {
          detail = JSON.parse(e.Detail);
        } catch {
          detail = undefined;
        }
        const busName = backend.busNameOf(e.EventBusName);
        // A service event that EventBridge would refuse is a bug in the emitting emulator: say so, drop it.
        if (
          !detail ||
          typeof detail !== 'object' ||
          Array.isArray(detail) ||
          !backend.hasBus(region, busName)
        ) {
          world.log.error('service event dropped: malformed detail or unknown bus', {
            source: e.Source,
            detailType: e.DetailType,
            bus: busName,
          });
          continue;
        }
        backend.publish(region, busName, {
          source: e.Source,
          detailType: e.DetailType,
          detail: detail as Record<string, unknown>,
          resources: e.Resources ?? [],
          time: e.Time,
        });
      }
      world.changed();
    },
  };

  return {
    name: 'events',
    json: [eventsService(backend, destinations)],
    bus,
    backend,
    destinations,
    control: {
      'GET events': (_body, query) => ({
        events: backend.events({
          source: query.get('source') ?? undefined,
          detailType: query.get('detailType') ?? undefined,
          bus: query.get('bus') ?? undefined,
        }),
      }),
      // What API destinations sent and dead-lettered (`destinations.ts`); secret values never appear here.
      'GET webhooks': () => ({
        connections: destinations.snapshot().connections.map(({ secret: _secret, ...c }) => c),
        // A Slack or Teams URL is itself a credential: the control plane shows where, not the whole URL
        // (DescribeApiDestination answers it in full, as AWS does).
        destinations: destinations.snapshot().destinations.map((d) => ({
          ...d,
          invocationEndpoint: `${new URL(d.invocationEndpoint).origin}/…`,
        })),
        deliveries: destinations.deliveries,
        deadLetters: destinations.deadLetters,
      }),
    },
    inspect: () => {
      const s = backend.snapshot();
      return {
        regions: Object.fromEntries(
          Object.entries(s.regions).map(([region, r]) => [
            region,
            {
              buses: r.buses,
              rules: r.rules.map((rule) => ({
                ...rule,
                nextFire: rule.nextFireMs === undefined ? undefined : new Date(rule.nextFireMs).toISOString(),
              })),
            },
          ]),
        ),
        eventCount: s.log.length,
      };
    },
    snapshot: () => ({ ...backend.snapshot(), destinations: destinations.snapshot() }),
    restore: (data) => {
      backend.restore(data as EventsSnapshot);
      destinations.restore((data as { destinations?: DestinationsSnapshot }).destinations);
    },
    reset: () => {
      backend.reset();
      destinations.reset();
    },
    start: () => {
      unsubscribe = world.clock.onAdvance(fire);
      timer = setInterval(fire, SCHEDULE_TICK_MS);
      timer.unref?.();
      fire();
    },
    stop: () => {
      unsubscribe?.();
      unsubscribe = undefined;
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}
