import { ServiceError } from '../../errors.ts';
import type { JsonOperation } from '../../server/aws.ts';
import type { EventsBackend } from './backend.ts';
import { entryErrors, eventsErrors } from './errors.ts';
import { busParam, ev, type Input } from './request.ts';

/**
 * EventBridge `PutEvents` (AWS JSON 1.1): entries are validated one by one, a failed entry is reported in
 * `Entries` rather than failing the call, and the accepted ones are delivered to the rules they match.
 */

/**
 * PutEvents limits: 1–10 entries, each under 256 KB
 * (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html,
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html).
 */
const MAX_ENTRIES = 10;
const MAX_ENTRIES_BYTES = 256 * 1024;
const MAX_DETAIL_TYPE = 128;

/** Bytes an entry counts towards the 256 KB limit (user guide, "Calculating PutEvents entry size"). */
function entrySize(e: Input): number {
  const bytes = (v: unknown) => (typeof v === 'string' ? Buffer.byteLength(v, 'utf8') : 0);
  let size = e['Time'] !== undefined && e['Time'] !== null ? 14 : 0;
  size += bytes(e['Source']) + bytes(e['DetailType']) + bytes(e['Detail']);
  if (Array.isArray(e['Resources'])) for (const r of e['Resources']) size += bytes(r);
  return size;
}

/** `PutEvents`: validates every entry, then delivers the accepted ones to the rules they match. */
export function putEvents(backend: EventsBackend): JsonOperation {
  return async (ctx, input) => {
    if (input['Entries'] === undefined)
      throw eventsErrors.validation('entries', undefined, 'Member must not be null');
    const entries =
      ev(input).list('Entries', { min: 1, max: MAX_ENTRIES, element: 'PutEventsRequestEntry' }) ?? [];
    const objects = entries.map((e) => {
      if (!e || typeof e !== 'object' || Array.isArray(e))
        throw eventsErrors.serialization('Entries', 'a list of PutEventsRequestEntry structures');
      return e as Input;
    });
    if (objects.reduce((n, e) => n + entrySize(e), 0) > MAX_ENTRIES_BYTES)
      throw eventsErrors.entriesTooLarge();
    const results: Input[] = [];
    for (const [i, e] of objects.entries()) {
      const at = `entries.${i + 1}.member`;
      const source = ev(e).str('Source', { path: `${at}.Source` });
      const detailType = ev(e).str('DetailType', { path: `${at}.DetailType` });
      const detailText = ev(e).str('Detail', { path: `${at}.Detail` });
      const resources = (
        ev(e).list('Resources', { min: 0, max: 10_000, element: 'String', path: `${at}.Resources` }) ?? []
      ).map((r) => {
        if (typeof r !== 'string') throw eventsErrors.serialization('Resources', 'a list of strings');
        return r;
      });
      const time = e['Time'];
      if (time !== undefined && time !== null && (typeof time !== 'number' || !Number.isFinite(time))) {
        throw eventsErrors.serialization('Time', 'a timestamp (epoch seconds)');
      }
      const busName = backend.busNameOf(busParam(e));
      if (!source) {
        results.push(entryErrors.required('Source'));
        continue;
      }
      if (!detailType) {
        results.push(entryErrors.required('DetailType'));
        continue;
      }
      if (detailText === undefined) {
        results.push(entryErrors.required('Detail'));
        continue;
      }
      if (detailType.length > MAX_DETAIL_TYPE) {
        results.push(entryErrors.detailTypeTooLong());
        continue;
      }
      let detail: unknown;
      try {
        detail = JSON.parse(detailText);
      } catch {
        detail = undefined;
      }
      if (!detail || typeof detail !== 'object' || Array.isArray(detail)) {
        results.push(entryErrors.malformedDetail());
        continue;
      }
      if (!backend.hasBus(ctx.region, busName)) {
        results.push(entryErrors.busNotFound(busName));
        continue;
      }
      // `aws.*` sources are reserved for AWS services. The sandbox's admin key may use them anyway, on
      // purpose: it is how a test injects the exact event ECR would emit without pushing an image.
      if (source.startsWith('aws.') && ctx.principal.kind !== 'admin') {
        results.push(entryErrors.reservedSource());
        continue;
      }
      try {
        await ctx.authorize('events:PutEvents', backend.busArn(ctx.region, busName));
      } catch (err) {
        if (!(err instanceof ServiceError)) throw err;
        results.push(entryErrors.accessDenied(err.message));
        continue;
      }
      const id = backend.publish(ctx.region, busName, {
        source,
        detailType,
        detail: detail as Record<string, unknown>,
        resources,
        time: typeof time === 'number' ? new Date(time * 1000) : undefined,
      });
      results.push({ EventId: id });
    }
    return {
      FailedEntryCount: results.filter((r) => r['ErrorCode'] !== undefined).length,
      Entries: results,
    };
  };
}
