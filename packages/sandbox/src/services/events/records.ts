/**
 * EventBridge's records as the sandbox stores them (buses, rules, targets, tags, the event log) and the event
 * envelope: the shapes the backend, the handlers and delivery share.
 */

export type RuleState = 'ENABLED' | 'DISABLED' | 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS';

export const DEFAULT_BUS = 'default';
/** Targets per rule (EventBridge quota). */
export const MAX_TARGETS_PER_RULE = 5;
/** Events kept for `GET /_sandbox/events` and the state file; older ones are dropped first. */
export const EVENT_LOG_SIZE = 10_000;

export interface Tag {
  Key: string;
  Value: string;
}

export interface TargetRecord {
  Id: string;
  Arn: string;
  RoleArn?: string | undefined;
  Input?: string | undefined;
  InputPath?: string | undefined;
  InputTransformer?:
    | { InputPathsMap?: Record<string, string> | undefined; InputTemplate: string }
    | undefined;
  RetryPolicy?:
    | { MaximumRetryAttempts?: number | undefined; MaximumEventAgeInSeconds?: number | undefined }
    | undefined;
  DeadLetterConfig?: { Arn?: string | undefined } | undefined;
}

export interface RuleRecord {
  name: string;
  busName: string;
  arn: string;
  eventPattern?: string | undefined;
  scheduleExpression?: string | undefined;
  state: RuleState;
  description?: string | undefined;
  roleArn?: string | undefined;
  createdBy: string;
  targets: TargetRecord[];
  tags: Tag[];
  /** Virtual time (epoch ms) rate periods count from: when the schedule was set or the rule enabled. */
  scheduleAnchorMs?: number | undefined;
  /** Virtual time (epoch ms) of the next firing; undefined when the schedule never fires again. */
  nextFireMs?: number | undefined;
}

export interface BusRecord {
  name: string;
  arn: string;
  description?: string | undefined;
  creationTime: string;
  lastModifiedTime: string;
  tags: Tag[];
}

/** The EventBridge envelope (https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-ecr.html). */
export interface EventEnvelope {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, unknown>;
}

export interface DeliveredTarget {
  rule: string;
  id: string;
  arn: string;
  /**
   * `lambda`: invoked asynchronously through the local runtime; `api-destination`: sent over HTTP
   * (`destinations.ts`); `recorded`: not emulated, recorded only.
   */
  delivery: 'lambda' | 'api-destination' | 'recorded';
  /** What the target received when it is not the event itself (Input, InputPath, InputTransformer). */
  input?: unknown;
}

export interface EventLogEntry {
  event: EventEnvelope;
  bus: string;
  matchedRules: string[];
  targets: DeliveredTarget[];
}

/** An event to publish, validated. */
export interface Publication {
  source: string;
  detailType: string;
  detail: Record<string, unknown>;
  resources: string[];
  time?: Date | undefined;
}

/** One region's buses and rules. */
export interface RegionState {
  buses: Map<string, BusRecord>;
  /** Keyed `<bus>\u0000<rule>`. */
  rules: Map<string, RuleRecord>;
}

export interface EventsSnapshot {
  regions: Record<string, { buses: BusRecord[]; rules: RuleRecord[] }>;
  log: EventLogEntry[];
}

export interface PutRuleInput {
  name: string;
  busName: string;
  eventPattern?: string | undefined;
  scheduleExpression?: string | undefined;
  state?: RuleState | undefined;
  description?: string | undefined;
  roleArn?: string | undefined;
  tags?: Tag[] | undefined;
}

/** ISO-8601 with seconds precision, as EventBridge writes `time` (`2019-11-16T01:54:34Z`). */
export function eventTime(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function mergeTags(existing: Tag[], added: Tag[]): Tag[] {
  const out = existing.filter((t) => !added.some((a) => a.Key === t.Key));
  return [...out, ...added];
}
