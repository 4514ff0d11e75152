import { SandboxError } from './errors.ts';

/**
 * Fault injection (`POST /_sandbox/faults`). A rule matches calls to one operation of one service and,
 * after letting `skip` matching calls through, fires `times` times: it delays the call, fails it with the
 * given error, or both. With `afterEffect` the call is carried out and *then* answered with the error — the
 * client never learns it succeeded, which is what a Lambda that dies (or times out) right after a call sees.
 */

export type FaultService =
  | 'ecr'
  | 'ecr-public'
  | 'iam'
  | 'sts'
  | 'secretsmanager'
  | 'events'
  | 's3'
  | 'registry'
  | 'nvcf';

export const FAULT_SERVICES: readonly FaultService[] = [
  'ecr',
  'ecr-public',
  'iam',
  'sts',
  'secretsmanager',
  'events',
  's3',
  'registry',
  'nvcf',
];

export interface FaultErrorSpec {
  status: number;
  /** AWS error code (`__type`/`<Code>`). For NVCF, when set, the Problem Details `detail` relays it as AWS JSON. */
  code?: string | undefined;
  message: string;
}

export interface FaultRuleInput {
  service: FaultService;
  /** Operation name (`CreateAccessKey`, `UpdateRegistryCredential`, ...) or `*` for every operation of the service. */
  operation: string;
  error?: FaultErrorSpec | undefined;
  delayMs?: number | undefined;
  /** How many times the rule fires (default 1). */
  times?: number | undefined;
  /** Matching calls to let through before firing (default 0). */
  skip?: number | undefined;
  /** Apply the call, then fail it. */
  afterEffect?: boolean | undefined;
}

export interface FaultRule extends Required<Pick<FaultRuleInput, 'service' | 'operation'>> {
  readonly id: number;
  readonly error: FaultErrorSpec | undefined;
  readonly delayMs: number;
  readonly afterEffect: boolean;
  remaining: number;
  toSkip: number;
  fired: number;
}

/** What the protocol layer must do with one call. */
export interface FaultDecision {
  delayMs: number;
  error: FaultErrorSpec | undefined;
  afterEffect: boolean;
  ruleIds: number[];
}

export class FaultRegistry {
  #rules: FaultRule[] = [];
  #nextId = 1;

  /** Validates and adds rules; returns them with their ids. Throws SandboxError naming the bad field. */
  public add(inputs: readonly unknown[]): FaultRule[] {
    const added = inputs.map((raw, i) => this.#validate(raw, i));
    this.#rules.push(...added);
    return added;
  }

  public clear(): void {
    this.#rules = [];
  }

  public list(): readonly FaultRule[] {
    return this.#rules;
  }

  /**
   * Consults the rules for one call. Rules are tried in the order they were added; every matching rule counts
   * the call (so `skip` means "the Nth call"), and the first one that fires decides.
   */
  public decide(service: FaultService, operation: string): FaultDecision | undefined {
    let decision: FaultDecision | undefined;
    for (const rule of this.#rules) {
      if (rule.service !== service || (rule.operation !== '*' && rule.operation !== operation)) continue;
      if (rule.remaining <= 0) continue;
      if (rule.toSkip > 0) {
        rule.toSkip--;
        continue;
      }
      if (decision) continue;
      rule.remaining--;
      rule.fired++;
      decision = {
        delayMs: rule.delayMs,
        error: rule.error,
        afterEffect: rule.afterEffect,
        ruleIds: [rule.id],
      };
    }
    this.#rules = this.#rules.filter((r) => r.remaining > 0);
    return decision;
  }

  #validate(raw: unknown, index: number): FaultRule {
    const fail = (message: string): never => {
      throw new SandboxError(`faults[${index}]: ${message}`);
    };
    if (!raw || typeof raw !== 'object') return fail('must be an object');
    const r = raw as Record<string, unknown>;
    if (!FAULT_SERVICES.includes(r['service'] as FaultService)) {
      fail(`service must be one of ${FAULT_SERVICES.join(', ')}`);
    }
    if (typeof r['operation'] !== 'string' || r['operation'] === '')
      fail("operation must be an operation name or '*'");
    const error = r['error'];
    let spec: FaultErrorSpec | undefined;
    if (error !== undefined) {
      if (!error || typeof error !== 'object') return fail('error must be {status, code, message}');
      const e = error as Record<string, unknown>;
      if (typeof e['status'] !== 'number' || e['status'] < 400 || e['status'] > 599)
        fail('error.status must be an HTTP error status (400-599)');
      if (e['code'] !== undefined && typeof e['code'] !== 'string') fail('error.code must be a string');
      if (typeof e['message'] !== 'string') fail('error.message must be a string');
      spec = {
        status: e['status'] as number,
        code: e['code'] as string | undefined,
        message: e['message'] as string,
      };
    }
    const delayMs = r['delayMs'] ?? 0;
    if (typeof delayMs !== 'number' || delayMs < 0 || delayMs > 600_000) fail('delayMs must be 0..600000');
    if (!spec && delayMs === 0) fail('give an error, a delayMs, or both');
    const times = r['times'] ?? 1;
    const skip = r['skip'] ?? 0;
    if (!Number.isInteger(times) || (times as number) < 1) fail('times must be a positive integer');
    if (!Number.isInteger(skip) || (skip as number) < 0) fail('skip must be a non-negative integer');
    const afterEffect = r['afterEffect'] ?? false;
    if (typeof afterEffect !== 'boolean') fail('afterEffect must be a boolean');
    if (afterEffect && !spec) fail('afterEffect needs an error to answer with');
    return {
      id: this.#nextId++,
      service: r['service'] as FaultService,
      operation: r['operation'] as string,
      error: spec,
      delayMs: delayMs as number,
      afterEffect: afterEffect as boolean,
      remaining: times as number,
      toSkip: skip as number,
      fired: 0,
    };
  }
}
