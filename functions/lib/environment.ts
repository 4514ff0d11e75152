import { assertConfig, type Config, ConfigError } from '@nvcf-ecr/core/config';
import { iamRegionFor } from '@nvcf-ecr/core/ecr';
import { createLogger, jsonLineSink, type Logger } from '@nvcf-ecr/core/log';
import { emfSink, type MetricSink } from '@nvcf-ecr/core/metrics';
import type { Context } from 'aws-lambda';

/**
 * What a handler needs from its surroundings, in one object, so that the same handler code runs in Lambda
 * (read from `process.env` at init) and on the sandbox (given by the local runtime: endpoints, the virtual
 * clock). Only `functions/` reads `process.env`; `packages/core` never does.
 */
export interface FunctionEnvironment {
  readonly config: Config;
  readonly region: string;
  /** AWS endpoint override (the sandbox); undefined in Lambda. */
  readonly awsEndpoint?: string | undefined;
  /** Explicit credentials (the sandbox); undefined in Lambda, where the execution role's are used. */
  readonly credentials?: { accessKeyId: string; secretAccessKey: string } | undefined;
  /** NVCF API base URL; defaults to `config.ngc.baseUrl`. */
  readonly nvcfBaseUrl: string;
  /** The project's event bus (name or ARN). */
  readonly eventBusName: string;
  /** The audit report bucket (audit function only). */
  readonly reportBucket?: string | undefined;
  readonly now: () => Date;
  /**
   * How waits pause and measure time: real time in Lambda (absent); on the sandbox with `virtualWaits`, its
   * virtual clock, so that waiting out IAM's and NVCF's delays costs no real time.
   */
  readonly waits?: { sleep(ms: number): Promise<void>; monotonic(): number } | undefined;
  readonly logger: Logger;
  /** Where metrics go: EMF lines on stdout in Lambda, debug log lines on the sandbox. */
  readonly metrics: MetricSink;
}

/** Environment variables the stacks set (documented in stacks/README.md). */
export const ENV = {
  config: 'NVCF_ECR_CONFIG',
  eventBus: 'NVCF_ECR_EVENT_BUS',
  reportBucket: 'NVCF_ECR_REPORT_BUCKET',
  logLevel: 'NVCF_ECR_LOG_LEVEL',
} as const;

/**
 * Builds the environment from `process.env` (Lambda). The configuration arrives as validated JSON in
 * `NVCF_ECR_CONFIG` (no secrets: only secret *names*); a bad value fails at init with every problem listed,
 * never half-way through a rotation.
 */
export function environmentFromProcess(env: NodeJS.ProcessEnv = process.env): FunctionEnvironment {
  const raw = env[ENV.config];
  if (!raw)
    throw new ConfigError([
      {
        path: ENV.config,
        message: 'is not set: the stacks pass the validated configuration as JSON in this variable',
      },
    ]);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw new ConfigError(
      [{ path: ENV.config, message: `is not valid JSON: ${(err as Error).message}` }],
      undefined,
      { cause: err },
    );
  }
  const config = assertConfig(parsed, ENV.config);
  const region = env['AWS_REGION'] ?? env['AWS_DEFAULT_REGION'];
  if (!region) throw new ConfigError([{ path: 'AWS_REGION', message: 'is not set (Lambda sets it)' }]);
  const eventBusName = env[ENV.eventBus];
  if (!eventBusName)
    throw new ConfigError([
      { path: ENV.eventBus, message: 'is not set: the stacks set it to the project bus name' },
    ]);
  const level = env[ENV.logLevel];
  return {
    config,
    region,
    nvcfBaseUrl: config.ngc.baseUrl,
    eventBusName,
    reportBucket: env[ENV.reportBucket],
    now: () => new Date(),
    metrics: emfSink((line) => process.stdout.write(line)),
    logger: createLogger({
      sink: jsonLineSink((line) => process.stdout.write(line)),
      level: level === 'debug' || level === 'warn' || level === 'error' ? level : 'info',
      fields: { function: env['AWS_LAMBDA_FUNCTION_NAME'] },
    }),
  };
}

/**
 * The Lambda entry point of a handler factory. In Lambda (`NVCF_ECR_CONFIG` set) the handler is built at
 * module scope, during init, as Lambda recommends. Anywhere else — the CLI composing handlers for the
 * sandbox, tests — importing the module has no side effect, and invoking this export explains what is missing.
 */
export function lambdaEntry<E, R>(
  factory: (env: FunctionEnvironment) => (event: E, context?: unknown) => Promise<R>,
): (event: E, context?: unknown) => Promise<R> {
  if (process.env[ENV.config] === undefined) {
    return async () => {
      throw new ConfigError([
        {
          path: ENV.config,
          message: 'is not set: this handler runs in Lambda; locally, compose it with create...Handler(env)',
        },
      ]);
    };
  }
  return factory(environmentFromProcess());
}

/**
 * What a handler factory returns: its middy handler, callable as Lambda calls it and as the sandbox's runtime
 * and the tests do, with an event of any shape (the handler's `parseEvent` checks it) and perhaps no context
 * (middy reads the context object, so an empty one stands in).
 */
export function invocable<E, R>(
  handler: (event: E, context: Context) => Promise<R>,
): (event: unknown, context?: unknown) => Promise<R> {
  return (event, context) => handler(event as E, (context ?? {}) as Context);
}

/** Settings shared by every AWS SDK client a handler builds (clients are built at the edge, passed to core). */
/** Idle time after which an AWS request is abandoned (and retried by the SDK's standard mode). */
export const SDK_REQUEST_TIMEOUT_MS = 5_000;
/** Time to establish a connection to an AWS endpoint. */
export const SDK_CONNECTION_TIMEOUT_MS = 2_000;

export function awsClientConfig(env: FunctionEnvironment, region: string = env.region) {
  return {
    region,
    ...(env.awsEndpoint ? { endpoint: env.awsEndpoint } : {}),
    ...(env.credentials ? { credentials: env.credentials } : {}),
    // The SDK's standard retry mode with 3 attempts; core adds its own bounded waits where a step needs them.
    maxAttempts: 3,
    // Without these a stalled socket waits for ever: the SDK sets no request timeout by default, and since
    // @smithy/node-http-handler 4.4 an elapsed `requestTimeout` only logs a warning unless
    // `throwOnRequestTimeout` is set (aws/aws-sdk-js-v3 UPGRADING.md; the handler shorthand:
    // https://docs.aws.amazon.com/sdk-for-javascript/v3/developer-guide/node-configuring-maxsockets.html). A call
    // that stalls fails within seconds, and a handler's failure path still runs before Lambda's timeout.
    requestHandler: {
      requestTimeout: SDK_REQUEST_TIMEOUT_MS,
      connectionTimeout: SDK_CONNECTION_TIMEOUT_MS,
      throwOnRequestTimeout: true,
    },
  };
}

/**
 * Settings for the IAM client. IAM is global: its endpoint signs for one region of the partition, which the SDK
 * picks by itself in AWS, but an endpoint override (the sandbox) makes the SDK sign for the client's own region.
 */
export function iamClientConfig(env: FunctionEnvironment) {
  return awsClientConfig(env, iamRegionFor(env.region));
}
