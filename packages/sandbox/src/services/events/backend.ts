import {
  type CompiledEventPattern,
  nextScheduleTime,
  SCHEDULED_EVENT_DETAIL_TYPE,
  SCHEDULED_EVENT_SOURCE,
  type Schedule,
} from '@nvcf-ecr/core/events';
import * as ids from '../../ids.ts';
import type { World } from '../../world.ts';
import { deliverToTargets } from './delivery.ts';
import type { DestinationsBackend } from './destinations.ts';
import { eventsErrors } from './errors.ts';
import { ParsedExpressions } from './parsed.ts';
import {
  type BusRecord,
  DEFAULT_BUS,
  EVENT_LOG_SIZE,
  type EventEnvelope,
  type EventLogEntry,
  type EventsSnapshot,
  eventTime,
  MAX_TARGETS_PER_RULE,
  mergeTags,
  type Publication,
  type PutRuleInput,
  type RegionState,
  type RuleRecord,
  type RuleState,
  type Tag,
  type TargetRecord,
} from './records.ts';

// The records live in `records.ts`; this module stays the entry the handlers import from.
export type { BusRecord, RuleRecord, RuleState, Tag, TargetRecord } from './records.ts';

/**
 * EventBridge state of one account, per region: event buses (`default` always exists), rules with their
 * targets and tags, and the log of every event put on a bus with the rules it matched and where it went.
 *
 * Delivery: every ENABLED rule of the bus whose pattern matches the event sends it (or its `Input`,
 * `InputPath` or `InputTransformer` rendering) to each target. A Lambda function registered with the local
 * runtime is invoked asynchronously (Lambda's own retries and dead letters live in `runtime/lambda.ts`).
 * Any other target — the SNS topic the notification rules publish to, an SQS queue, a Lambda ARN nobody
 * registered — is recorded in the log as delivered to that ARN and goes no further: the sandbox does not
 * emulate SNS or SQS, and a test reads what would have been published from `GET /_sandbox/events`.
 * A target's `RetryPolicy` and `DeadLetterConfig` govern EventBridge's retries when a target cannot be
 * reached; here the local Lambda always accepts an asynchronous invocation, so they are stored and returned
 * (the stacks' values can be inspected) but never come into play — function errors are Lambda's retries.
 *
 * Schedules: ENABLED rules with a `ScheduleExpression` (default bus only, as in AWS) fire on the virtual
 * clock. Their event goes to that rule's targets only (`source: aws.events`, `detail-type: Scheduled
 * Event`, `resources: [rule ARN]`, `detail: {}`), as EventBridge does. A clock jump over many periods fires
 * ONCE, stamped with the virtual time of the firing: a sandbox that replayed every missed period of a
 * 90-day jump would flood the handlers with thousands of identical audits, and AWS itself never "catches
 * up" missed invocations of a disabled or broken schedule.
 */

const ENABLED: ReadonlySet<RuleState> = new Set(['ENABLED', 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS']);

export class EventsBackend {
  readonly #world: World;
  #regions = new Map<string, RegionState>();
  #log: EventLogEntry[] = [];
  readonly #parsed = new ParsedExpressions();
  /** Connections and API destinations; targets whose ARN is one are delivered over HTTP. */
  public destinations: DestinationsBackend | undefined;

  public constructor(world: World) {
    this.#world = world;
  }

  // --- naming ---------------------------------------------------------------------------------------------

  busArn(region: string, name: string): string {
    return `arn:${this.#world.partition}:events:${region}:${this.#world.accountId}:event-bus/${name}`;
  }

  /** Rules on the default bus are `rule/<name>`, on a custom bus `rule/<bus>/<name>`. */
  ruleArn(region: string, busName: string, name: string): string {
    const path = busName === DEFAULT_BUS ? name : `${busName}/${name}`;
    return `arn:${this.#world.partition}:events:${region}:${this.#world.accountId}:rule/${path}`;
  }

  /** A bus given by name or ARN, as every `EventBusName` member accepts. */
  busNameOf(nameOrArn: string | undefined): string {
    if (nameOrArn === undefined) return DEFAULT_BUS;
    const m = /^arn:[^:]+:events:[^:]*:[^:]*:event-bus\/(.+)$/.exec(nameOrArn);
    return m ? (m[1] as string) : nameOrArn;
  }

  #region(region: string): RegionState {
    let r = this.#regions.get(region);
    if (!r) {
      const now = this.#now().toISOString();
      r = { buses: new Map(), rules: new Map() };
      r.buses.set(DEFAULT_BUS, {
        name: DEFAULT_BUS,
        arn: this.busArn(region, DEFAULT_BUS),
        creationTime: now,
        lastModifiedTime: now,
        tags: [],
      });
      this.#regions.set(region, r);
    }
    return r;
  }

  #now(): Date {
    return this.#world.clock.now();
  }

  // --- buses ----------------------------------------------------------------------------------------------

  getBus(region: string, name: string): BusRecord {
    const bus = this.#region(region).buses.get(name);
    if (!bus) throw eventsErrors.busNotFound(name);
    return bus;
  }

  hasBus(region: string, name: string): boolean {
    return this.#region(region).buses.has(name);
  }

  createBus(region: string, name: string, description?: string, tags: Tag[] = []): BusRecord {
    const r = this.#region(region);
    if (r.buses.has(name)) throw eventsErrors.busExists(name);
    // Only partner buses (named after their partner event source) may contain '/', and the sandbox has none.
    if (name.includes('/')) throw eventsErrors.busNameSlash();
    const now = this.#now().toISOString();
    const bus: BusRecord = {
      name,
      arn: this.busArn(region, name),
      description,
      creationTime: now,
      lastModifiedTime: now,
      tags,
    };
    r.buses.set(name, bus);
    return bus;
  }

  /** Deleting a bus that does not exist succeeds, as in AWS (moto's tests, verified against AWS). */
  deleteBus(region: string, name: string): void {
    if (name === DEFAULT_BUS) throw eventsErrors.cannotDeleteDefault();
    const r = this.#region(region);
    if (!r.buses.has(name)) return;
    if ([...r.rules.values()].some((rule) => rule.busName === name)) throw eventsErrors.busHasRules(name);
    r.buses.delete(name);
  }

  listBuses(region: string, prefix?: string): BusRecord[] {
    return [...this.#region(region).buses.values()]
      .filter((b) => prefix === undefined || b.name.startsWith(prefix))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  // --- rules ----------------------------------------------------------------------------------------------

  getRule(region: string, busName: string, name: string): RuleRecord {
    this.getBus(region, busName);
    const rule = this.#region(region).rules.get(`${busName}\u0000${name}`);
    if (!rule) throw eventsErrors.ruleNotFound(name, busName);
    return rule;
  }

  /**
   * Creates or replaces a rule. PutRule on an existing rule replaces every property with what this call
   * gives ("If you omit arguments in PutRule, the old values for those arguments are not kept", API
   * reference); its targets stay, and tags are only added (TagResource/UntagResource manage them after).
   */
  putRule(region: string, input: PutRuleInput): RuleRecord {
    this.getBus(region, input.busName);
    if (input.eventPattern === undefined && input.scheduleExpression === undefined)
      throw eventsErrors.patternOrSchedule();
    if (input.scheduleExpression !== undefined && input.busName !== DEFAULT_BUS)
      throw eventsErrors.scheduleOnCustomBus();
    if (input.eventPattern !== undefined) this.pattern(input.eventPattern);
    if (input.scheduleExpression !== undefined) this.schedule(input.scheduleExpression);
    const r = this.#region(region);
    const key = `${input.busName}\u0000${input.name}`;
    const old = r.rules.get(key);
    const rule: RuleRecord = {
      name: input.name,
      busName: input.busName,
      arn: this.ruleArn(region, input.busName, input.name),
      eventPattern: input.eventPattern,
      scheduleExpression: input.scheduleExpression,
      state: input.state ?? 'ENABLED',
      description: input.description,
      roleArn: input.roleArn,
      createdBy: this.#world.accountId,
      targets: old?.targets ?? [],
      tags: mergeTags(old?.tags ?? [], input.tags ?? []),
      scheduleAnchorMs: old?.scheduleAnchorMs,
      nextFireMs: old?.nextFireMs,
    };
    const restart =
      !old ||
      old.scheduleExpression !== rule.scheduleExpression ||
      (!ENABLED.has(old.state) && ENABLED.has(rule.state));
    if (restart) this.#armSchedule(rule);
    r.rules.set(key, rule);
    return rule;
  }

  setRuleState(region: string, busName: string, name: string, state: RuleState): void {
    const rule = this.getRule(region, busName, name);
    const wasEnabled = ENABLED.has(rule.state);
    rule.state = state;
    // A re-enabled schedule counts its periods from now: it does not fire for the time it was disabled.
    if (!wasEnabled && ENABLED.has(state)) this.#armSchedule(rule);
  }

  /** Deleting a rule that does not exist succeeds, as in AWS (moto's tests, verified against AWS). */
  deleteRule(region: string, busName: string, name: string): void {
    this.getBus(region, busName);
    const r = this.#region(region);
    const key = `${busName}\u0000${name}`;
    const rule = r.rules.get(key);
    if (!rule) return;
    if (rule.targets.length > 0) throw eventsErrors.ruleHasTargets();
    r.rules.delete(key);
  }

  listRules(region: string, busName: string, prefix?: string): RuleRecord[] {
    this.getBus(region, busName);
    return [...this.#region(region).rules.values()]
      .filter((r) => r.busName === busName && (prefix === undefined || r.name.startsWith(prefix)))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Adds or replaces targets by Id; more than {@link MAX_TARGETS_PER_RULE} fails the whole call. */
  putTargets(region: string, busName: string, ruleName: string, targets: TargetRecord[]): void {
    const rule = this.getRule(region, busName, ruleName);
    const next = [...rule.targets];
    for (const t of targets) {
      const i = next.findIndex((x) => x.Id === t.Id);
      if (i >= 0) next[i] = t;
      else next.push(t);
    }
    if (next.length > MAX_TARGETS_PER_RULE) throw eventsErrors.targetLimit();
    rule.targets = next;
  }

  /** Removes targets by Id; Ids the rule does not have are ignored. */
  removeTargets(region: string, busName: string, ruleName: string, targetIds: readonly string[]): void {
    const rule = this.getRule(region, busName, ruleName);
    rule.targets = rule.targets.filter((t) => !targetIds.includes(t.Id));
  }

  /** Tags of a rule or bus ARN (TagResource & co.), with the error EventBridge gives for an unknown one. */
  tagsOf(arn: string): Tag[] {
    const m = /^arn:[^:]+:events:([^:]+):(\d{12}):(event-bus|rule)\/(.+)$/.exec(arn);
    if (!m || m[2] !== this.#world.accountId) throw eventsErrors.invalidArn(arn);
    const [, region, , kind, path] = m as unknown as [string, string, string, string, string];
    if (kind === 'event-bus') return this.getBus(region, path).tags;
    const slash = path.indexOf('/');
    const [busName, name] = slash < 0 ? [DEFAULT_BUS, path] : [path.slice(0, slash), path.slice(slash + 1)];
    return this.getRule(region, busName, name).tags;
  }

  /** A compiled pattern, or `InvalidEventPatternException` with EventBridge's reason. */
  pattern(text: string): CompiledEventPattern {
    return this.#parsed.pattern(text);
  }

  schedule(expression: string): Schedule {
    return this.#parsed.schedule(expression);
  }

  #armSchedule(rule: RuleRecord): void {
    if (rule.scheduleExpression === undefined) {
      rule.scheduleAnchorMs = undefined;
      rule.nextFireMs = undefined;
      return;
    }
    const now = this.#now();
    rule.scheduleAnchorMs = now.getTime();
    rule.nextFireMs = nextScheduleTime(this.schedule(rule.scheduleExpression), now, now)?.getTime();
  }

  // --- events ---------------------------------------------------------------------------------------------

  /** Puts one validated event on a bus and delivers it; returns its id. */
  publish(region: string, busName: string, p: Publication): string {
    this.getBus(region, busName);
    const event: EventEnvelope = {
      version: '0',
      id: ids.uuid(),
      'detail-type': p.detailType,
      source: p.source,
      account: this.#world.accountId,
      time: eventTime(p.time ?? this.#now()),
      region,
      resources: p.resources,
      detail: p.detail,
    };
    const matched = [...this.#region(region).rules.values()].filter(
      (rule) =>
        rule.busName === busName &&
        ENABLED.has(rule.state) &&
        rule.eventPattern !== undefined &&
        this.pattern(rule.eventPattern).matches(event),
    );
    this.#deliver(busName, event, matched);
    return event.id;
  }

  /** Fires every enabled schedule that is due on the virtual clock (once per due rule, see the class doc). */
  fireDueSchedules(): number {
    const now = this.#now();
    let fired = 0;
    for (const [region, r] of this.#regions) {
      for (const rule of r.rules.values()) {
        if (rule.scheduleExpression === undefined || !ENABLED.has(rule.state)) continue;
        if (rule.nextFireMs === undefined || rule.nextFireMs > now.getTime()) continue;
        const schedule = this.schedule(rule.scheduleExpression);
        rule.nextFireMs = nextScheduleTime(
          schedule,
          now,
          new Date(rule.scheduleAnchorMs ?? now.getTime()),
        )?.getTime();
        const event: EventEnvelope = {
          version: '0',
          id: ids.uuid(),
          'detail-type': SCHEDULED_EVENT_DETAIL_TYPE,
          source: SCHEDULED_EVENT_SOURCE,
          account: this.#world.accountId,
          time: eventTime(now),
          region,
          resources: [rule.arn],
          detail: {},
        };
        this.#deliver(rule.busName, event, [rule]);
        fired++;
      }
    }
    if (fired > 0) this.#world.changed();
    return fired;
  }

  #deliver(busName: string, event: EventEnvelope, rules: RuleRecord[]): void {
    const targets = deliverToTargets(this.#world, this.destinations, event, rules);
    this.#log.push({ event, bus: busName, matchedRules: rules.map((r) => r.arn), targets });
    if (this.#log.length > EVENT_LOG_SIZE) this.#log.splice(0, this.#log.length - EVENT_LOG_SIZE);
    if (targets.length > 0) {
      this.#world.log.debug('event delivered', {
        id: event.id,
        source: event.source,
        detailType: event['detail-type'],
        targets: targets.length,
      });
    }
  }

  /** The event log, oldest first, optionally filtered. */
  events(
    filter: { source?: string | undefined; detailType?: string | undefined; bus?: string | undefined } = {},
  ): EventLogEntry[] {
    return this.#log.filter(
      (e) =>
        (filter.source === undefined || e.event.source === filter.source) &&
        (filter.detailType === undefined || e.event['detail-type'] === filter.detailType) &&
        (filter.bus === undefined || e.bus === filter.bus),
    );
  }

  // --- state ----------------------------------------------------------------------------------------------

  snapshot(): EventsSnapshot {
    const regions: EventsSnapshot['regions'] = {};
    for (const [name, r] of this.#regions)
      regions[name] = { buses: [...r.buses.values()], rules: [...r.rules.values()] };
    return { regions, log: this.#log };
  }

  restore(s: EventsSnapshot): void {
    this.#regions = new Map();
    for (const [name, r] of Object.entries(s.regions ?? {})) {
      this.#regions.set(name, {
        buses: new Map(r.buses.map((b) => [b.name, b])),
        rules: new Map(r.rules.map((rule) => [`${rule.busName}\u0000${rule.name}`, rule])),
      });
    }
    this.#log = [...(s.log ?? [])];
  }

  reset(): void {
    this.#regions = new Map();
    this.#log = [];
  }
}
