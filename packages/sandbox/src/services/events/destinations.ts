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

const notFound = (what: string, name: string) =>
  new ServiceError(
    'ResourceNotFoundException',
    `Failed to describe the ${what}(s). ${what} '${name}' does not exist.`,
    400,
  );
const exists = (what: string, name: string) =>
  new ServiceError('ResourceAlreadyExistsException', `${what} ${name} already exists.`, 400);

export class DestinationsBackend {
  readonly #world: World;
  readonly #options: DestinationOptions;
  #connections = new Map<string, ConnectionRecord>();
  /** Connection ARN → the header to send; never answered by the API. */
  #secrets = new Map<string, Record<string, string>>();
  #destinations = new Map<string, ApiDestinationRecord>();
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

  createConnection(
    region: string,
    input: { name: string; description?: string | undefined } & (
      | { authorizationType: 'API_KEY'; apiKeyName: string; apiKeyValue: string }
      | { authorizationType: 'BASIC'; username: string; password: string }
    ),
  ): ConnectionRecord {
    const key = `${region}\u0000${input.name}`;
    if (this.#connections.has(key)) throw exists('Connection', input.name);
    const record: ConnectionRecord = {
      name: input.name,
      arn: this.#arn(region, 'connection', input.name),
      region,
      description: input.description,
      authorizationType: input.authorizationType,
      keyName: input.authorizationType === 'API_KEY' ? input.apiKeyName : input.username,
      creationTime: this.#world.clock.now().toISOString(),
    };
    this.#connections.set(key, record);
    this.#secrets.set(
      record.arn,
      input.authorizationType === 'API_KEY'
        ? { [input.apiKeyName]: input.apiKeyValue }
        : { Authorization: `Basic ${Buffer.from(`${input.username}:${input.password}`).toString('base64')}` },
    );
    return record;
  }

  getConnection(region: string, name: string): ConnectionRecord {
    const c = this.#connections.get(`${region}\u0000${name}`);
    if (!c) throw notFound('Connection', name);
    return c;
  }

  listConnections(region: string): ConnectionRecord[] {
    return [...this.#connections.values()].filter((c) => c.region === region);
  }

  deleteConnection(region: string, name: string): void {
    const c = this.getConnection(region, name);
    this.#connections.delete(`${region}\u0000${name}`);
    this.#secrets.delete(c.arn);
  }

  createApiDestination(
    region: string,
    input: Omit<ApiDestinationRecord, 'arn' | 'region' | 'creationTime'>,
  ): ApiDestinationRecord {
    const key = `${region}\u0000${input.name}`;
    if (this.#destinations.has(key)) throw exists('ApiDestination', input.name);
    if (![...this.#connections.values()].some((c) => c.arn === input.connectionArn))
      throw new ServiceError(
        'ResourceNotFoundException',
        `Connection '${input.connectionArn}' does not exist.`,
        400,
      );
    const record: ApiDestinationRecord = {
      ...input,
      arn: this.#arn(region, 'api-destination', input.name),
      region,
      creationTime: this.#world.clock.now().toISOString(),
    };
    this.#destinations.set(key, record);
    return record;
  }

  getApiDestination(region: string, name: string): ApiDestinationRecord {
    const d = this.#destinations.get(`${region}\u0000${name}`);
    if (!d) throw notFound('ApiDestination', name);
    return d;
  }

  listApiDestinations(region: string): ApiDestinationRecord[] {
    return [...this.#destinations.values()].filter((d) => d.region === region);
  }

  deleteApiDestination(region: string, name: string): void {
    this.getApiDestination(region, name);
    this.#destinations.delete(`${region}\u0000${name}`);
  }

  /** True when `arn` is an API destination of this sandbox (a rule target to deliver over HTTP). */
  has(arn: string): boolean {
    return [...this.#destinations.values()].some((d) => d.arn === arn);
  }

  /** Starts delivering `body` to the destination `target.Arn`; retries and dead-letters in the background. */
  deliver(target: DeliveryTarget, body: string, ruleArn: string, eventTime: Date): void {
    const destination = [...this.#destinations.values()].find((d) => d.arn === target.Arn);
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
      connections: [...this.#connections.values()].map((c) => ({
        ...c,
        secret: this.#secrets.get(c.arn) ?? {},
      })),
      destinations: [...this.#destinations.values()],
    };
  }

  restore(s: DestinationsSnapshot | undefined): void {
    this.reset();
    for (const { secret, ...c } of s?.connections ?? []) {
      this.#connections.set(`${c.region}\u0000${c.name}`, c);
      this.#secrets.set(c.arn, secret);
    }
    for (const d of s?.destinations ?? []) this.#destinations.set(`${d.region}\u0000${d.name}`, d);
  }

  reset(): void {
    this.#connections = new Map();
    this.#secrets = new Map();
    this.#destinations = new Map();
    this.deliveries.length = 0;
    this.deadLetters.length = 0;
  }
}
