import { ServiceError } from '../../errors.ts';
import * as ids from '../../ids.ts';
import type { World } from '../../world.ts';

/**
 * EventBridge connections and API destinations, and the delivery of rule targets to them
 * (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-api-destinations.html):
 *
 * - a connection authorises with an API key (`ApiKeyName: ApiKeyValue` header) or Basic credentials; its
 *   secret values are kept here (EventBridge keeps them in a Secrets Manager secret of its own) and never
 *   answered by Describe/List, as AWS answers only the key's name and the user name;
 * - a destination POSTs (its `HttpMethod`) the target's input — the event, or its Input/InputPath/
 *   InputTransformer rendering, as text — with `Content-Type: application/json; charset=utf-8` and
 *   `User-Agent: Amazon/EventBridge/ApiDestinations` (the guide's "Headers included in requests");
 * - a request times out after 5 seconds; 401, 407, 409, 429, 5xx, time-outs and connection failures are
 *   retried, any other answer that is not 2xx is not (the guide's "API destination error codes"); a negative
 *   `Retry-After` stops the retries;
 * - retries follow the target's `RetryPolicy` (defaults 185 attempts and 24 hours of event age, counted on
 *   the virtual clock); when they are spent, or the failure is not retried, the event goes to the target's
 *   dead-letter queue with the attributes EventBridge sets on such messages (`RULE_ARN`, `TARGET_ARN`,
 *   `ERROR_CODE`, `ERROR_MESSAGE`, `EXHAUSTED_RETRY_CONDITION`, `RETRY_ATTEMPTS`;
 *   https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html), or is dropped without one.
 *   The sandbox does not emulate SQS: dead letters are kept here and shown by `GET /_sandbox/webhooks`.
 *   `ERROR_CODE` holds the HTTP status, `TIMEOUT` or `CONNECTION_ERROR` (the sandbox's codes: the guide
 *   gives no list for API destinations);
 * - `InvocationRateLimitPerSecond` spaces requests to one destination in real time.
 *
 * Fidelity choices: EventBridge waits with exponential back-off and jitter between attempts over up to a day;
 * the sandbox compresses the waits to {@link DestinationOptions.retryDelaysMs} of real time (tests run in
 * seconds), while the event's age is still judged on the virtual clock. Endpoints must be HTTPS, as AWS
 * requires; `http://127.0.0.1:PORT` and `http://localhost:PORT` are accepted too, so tests can listen locally.
 */

export interface ConnectionRecord {
  name: string;
  arn: string;
  region: string;
  description?: string | undefined;
  authorizationType: 'API_KEY' | 'BASIC';
  /** API key header name, or Basic user name: what Describe answers. */
  keyName: string;
  creationTime: string;
}

export interface ApiDestinationRecord {
  name: string;
  arn: string;
  region: string;
  description?: string | undefined;
  connectionArn: string;
  invocationEndpoint: string;
  httpMethod: string;
  invocationRateLimitPerSecond: number;
  creationTime: string;
}

export interface WebhookDelivery {
  destination: string;
  rule: string;
  targetId: string;
  attempt: number;
  status: number | 'TIMEOUT' | 'CONNECTION_ERROR';
  ok: boolean;
  time: string;
}

export interface WebhookDeadLetter {
  deadLetterArn: string;
  body: string;
  attributes: {
    RULE_ARN: string;
    TARGET_ARN: string;
    ERROR_CODE: string;
    ERROR_MESSAGE: string;
    EXHAUSTED_RETRY_CONDITION?: 'MaximumRetryAttempts' | 'MaximumEventAgeInSeconds' | undefined;
    RETRY_ATTEMPTS: number;
  };
  time: string;
}

export interface DeliveryTarget {
  Id: string;
  Arn: string;
  RetryPolicy?:
    | { MaximumRetryAttempts?: number | undefined; MaximumEventAgeInSeconds?: number | undefined }
    | undefined;
  DeadLetterConfig?: { Arn?: string | undefined } | undefined;
}

export interface DestinationOptions {
  /** Real-time waits before the 2nd, 3rd, … attempt; the last repeats. */
  retryDelaysMs?: readonly number[] | undefined;
}

export interface DestinationsSnapshot {
  connections: (ConnectionRecord & { secret: Record<string, string> })[];
  destinations: ApiDestinationRecord[];
}

/** How long EventBridge waits for an endpoint (the guide's "Important" note). */
export const REQUEST_TIMEOUT_MS = 5_000;
export const DEFAULT_MAX_RETRY_ATTEMPTS = 185;
export const DEFAULT_MAX_EVENT_AGE_SECONDS = 86_400;
const RETRIED = new Set([401, 407, 409, 429]);
const DEFAULT_RETRY_DELAYS_MS = [50, 100, 200, 400, 800, 1000];

/**
 * Connections or API destinations of one account: named per region, refused when the name is taken and missed
 * with the messages EventBridge gives for either kind.
 */
class RegionalRecords<T extends { name: string; region: string }> {
  readonly #what: string;
  readonly #records = new Map<string, T>();

  public constructor(what: 'Connection' | 'ApiDestination') {
    this.#what = what;
  }

  /** Throws EventBridge's `ResourceAlreadyExistsException` when `name` is taken in `region`. */
  claim(region: string, name: string): void {
    if (this.#records.has(`${region}\u0000${name}`))
      throw new ServiceError('ResourceAlreadyExistsException', `${this.#what} ${name} already exists.`, 400);
  }

  add(record: T): T {
    this.claim(record.region, record.name);
    this.#records.set(`${record.region}\u0000${record.name}`, record);
    return record;
  }

  get(region: string, name: string): T {
    const record = this.#records.get(`${region}\u0000${name}`);
    if (!record)
      throw new ServiceError(
        'ResourceNotFoundException',
        `Failed to describe the ${this.#what}(s). ${this.#what} '${name}' does not exist.`,
        400,
      );
    return record;
  }

  list(region: string): T[] {
    return this.all().filter((r) => r.region === region);
  }

  delete(region: string, name: string): T {
    const record = this.get(region, name);
    this.#records.delete(`${region}\u0000${name}`);
    return record;
  }

  all(): T[] {
    return [...this.#records.values()];
  }

  clear(): void {
    this.#records.clear();
  }
}

export class DestinationsBackend {
  readonly #world: World;
  readonly #options: DestinationOptions;
  readonly #connections = new RegionalRecords<ConnectionRecord>('Connection');
  /** Connection ARN → the header to send; never answered by the API. */
  readonly #secrets = new Map<string, Record<string, string>>();
  readonly #destinations = new RegionalRecords<ApiDestinationRecord>('ApiDestination');
  /** Destination ARN → real time (ms) the next request may start. */
  readonly #nextSlot = new Map<string, number>();
  readonly deliveries: WebhookDelivery[] = [];
  readonly deadLetters: WebhookDeadLetter[] = [];

  public constructor(world: World, options: DestinationOptions = {}) {
    this.#world = world;
    this.#options = options;
  }

  #arn(region: string, kind: 'connection' | 'api-destination', name: string): string {
    return `arn:${this.#world.partition}:events:${region}:${this.#world.accountId}:${kind}/${name}/${ids.uuid()}`;
  }

  /** `keyName` is the API key's header name or the Basic user name; `secretValue` the key or the password. */
  createConnection(
    region: string,
    input: {
      name: string;
      description?: string | undefined;
      authorizationType: 'API_KEY' | 'BASIC';
      keyName: string;
      secretValue: string;
    },
  ): ConnectionRecord {
    this.#connections.claim(region, input.name);
    const record = this.#connections.add({
      name: input.name,
      arn: this.#arn(region, 'connection', input.name),
      region,
      description: input.description,
      authorizationType: input.authorizationType,
      keyName: input.keyName,
      creationTime: this.#world.clock.now().toISOString(),
    });
    this.#secrets.set(
      record.arn,
      input.authorizationType === 'API_KEY'
        ? { [input.keyName]: input.secretValue }
        : {
            Authorization: `Basic ${Buffer.from(`${input.keyName}:${input.secretValue}`).toString('base64')}`,
          },
    );
    return record;
  }

  getConnection(region: string, name: string): ConnectionRecord {
    return this.#connections.get(region, name);
  }

  listConnections(region: string): ConnectionRecord[] {
    return this.#connections.list(region);
  }

  deleteConnection(region: string, name: string): void {
    this.#secrets.delete(this.#connections.delete(region, name).arn);
  }

  createApiDestination(
    region: string,
    input: Omit<ApiDestinationRecord, 'arn' | 'region' | 'creationTime'>,
  ): ApiDestinationRecord {
    this.#destinations.claim(region, input.name);
    if (!this.#connections.all().some((c) => c.arn === input.connectionArn))
      throw new ServiceError(
        'ResourceNotFoundException',
        `Connection '${input.connectionArn}' does not exist.`,
        400,
      );
    return this.#destinations.add({
      ...input,
      arn: this.#arn(region, 'api-destination', input.name),
      region,
      creationTime: this.#world.clock.now().toISOString(),
    });
  }

  getApiDestination(region: string, name: string): ApiDestinationRecord {
    return this.#destinations.get(region, name);
  }

  listApiDestinations(region: string): ApiDestinationRecord[] {
    return this.#destinations.list(region);
  }

  deleteApiDestination(region: string, name: string): void {
    this.#destinations.delete(region, name);
  }

  /** True when `arn` is an API destination of this sandbox (a rule target to deliver over HTTP). */
  has(arn: string): boolean {
    return this.#destinations.all().some((d) => d.arn === arn);
  }

  /** Starts delivering `body` to the destination `target.Arn`; retries and dead-letters in the background. */
  deliver(target: DeliveryTarget, body: string, ruleArn: string, eventTime: Date): void {
    const destination = this.#destinations.all().find((d) => d.arn === target.Arn);
    if (!destination) return;
    const maxRetries = target.RetryPolicy?.MaximumRetryAttempts ?? DEFAULT_MAX_RETRY_ATTEMPTS;
    const maxAgeMs = (target.RetryPolicy?.MaximumEventAgeInSeconds ?? DEFAULT_MAX_EVENT_AGE_SECONDS) * 1000;
    const delays = this.#options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
    const attempt = async (n: number): Promise<void> => {
      const outcome = await this.#send(destination, body);
      this.deliveries.push({
        destination: destination.arn,
        rule: ruleArn,
        targetId: target.Id,
        attempt: n,
        status: outcome.status,
        ok: outcome.ok,
        time: this.#world.clock.now().toISOString(),
      });
      if (outcome.ok) return;
      const aged = this.#world.clock.nowMs() - eventTime.getTime() > maxAgeMs;
      const exhausted =
        n > maxRetries ? 'MaximumRetryAttempts' : aged ? 'MaximumEventAgeInSeconds' : undefined;
      if (!outcome.retry || exhausted) {
        this.#deadLetter(target, body, ruleArn, outcome, n - 1, outcome.retry ? exhausted : undefined);
        return;
      }
      this.#world.tracker.later(delays[Math.min(n - 1, delays.length - 1)] ?? 0, () => attempt(n + 1));
    };
    this.#world.tracker.later(0, () => attempt(1));
  }

  async #send(
    d: ApiDestinationRecord,
    body: string,
  ): Promise<{ ok: boolean; retry: boolean; status: WebhookDelivery['status']; message: string }> {
    const now = Date.now();
    const slot = Math.max(now, this.#nextSlot.get(d.arn) ?? 0);
    this.#nextSlot.set(d.arn, slot + 1000 / d.invocationRateLimitPerSecond);
    if (slot > now) await new Promise((r) => setTimeout(r, slot - now));
    try {
      const res = await fetch(d.invocationEndpoint, {
        method: d.httpMethod,
        headers: {
          'content-type': 'application/json; charset=utf-8',
          'user-agent': 'Amazon/EventBridge/ApiDestinations',
          ...(this.#secrets.get(d.connectionArn) ?? {}),
        },
        body,
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.status >= 200 && res.status < 300)
        return { ok: true, retry: false, status: res.status, message: 'OK' };
      const retryAfter = Number(res.headers.get('retry-after'));
      const retry = (RETRIED.has(res.status) || res.status >= 500) && !(retryAfter < 0);
      return { ok: false, retry, status: res.status, message: `The endpoint answered HTTP ${res.status}` };
    } catch (err) {
      const timeout = (err as Error)?.name === 'TimeoutError';
      return {
        ok: false,
        retry: true,
        status: timeout ? 'TIMEOUT' : 'CONNECTION_ERROR',
        message: timeout
          ? `No answer within ${REQUEST_TIMEOUT_MS / 1000} seconds`
          : 'The endpoint could not be reached',
      };
    }
  }

  #deadLetter(
    target: DeliveryTarget,
    body: string,
    ruleArn: string,
    outcome: { status: WebhookDelivery['status']; message: string },
    retries: number,
    exhausted: WebhookDeadLetter['attributes']['EXHAUSTED_RETRY_CONDITION'],
  ): void {
    const deadLetterArn = target.DeadLetterConfig?.Arn;
    // The endpoint is not logged: a Slack or Teams URL is itself a credential.
    this.#world.log.warn('API destination delivery failed for good', {
      destination: target.Arn,
      rule: ruleArn,
      status: outcome.status,
      retries,
      deadLettered: deadLetterArn !== undefined,
    });
    if (!deadLetterArn) return;
    this.deadLetters.push({
      deadLetterArn,
      body,
      attributes: {
        RULE_ARN: ruleArn,
        TARGET_ARN: target.Arn,
        ERROR_CODE: String(outcome.status),
        ERROR_MESSAGE: outcome.message,
        ...(exhausted ? { EXHAUSTED_RETRY_CONDITION: exhausted } : {}),
        RETRY_ATTEMPTS: retries,
      },
      time: this.#world.clock.now().toISOString(),
    });
  }

  snapshot(): DestinationsSnapshot {
    return {
      connections: this.#connections.all().map((c) => ({ ...c, secret: this.#secrets.get(c.arn) ?? {} })),
      destinations: this.#destinations.all(),
    };
  }

  restore(s: DestinationsSnapshot | undefined): void {
    this.reset();
    for (const { secret, ...c } of s?.connections ?? []) {
      this.#connections.add(c);
      this.#secrets.set(c.arn, secret);
    }
    for (const d of s?.destinations ?? []) this.#destinations.add(d);
  }

  reset(): void {
    this.#connections.clear();
    this.#secrets.clear();
    this.#destinations.clear();
    this.deliveries.length = 0;
    this.deadLetters.length = 0;
  }
}
