import type { Config } from '@nvcf-ecr/core/config';
import {
  FUNCTIONS,
  type FunctionKey,
  functionArn,
  PROJECT_EVENT_BUS_NAME,
  reportBucketName,
} from '@nvcf-ecr/core/events';
import type { Logger } from '@nvcf-ecr/core/log';
import { SandboxError } from '../errors.ts';
import type { ServiceModule } from '../module.ts';
import type { Endpoints, World } from '../world.ts';
import { type LambdaHandler, LambdaRegistry } from './lambda.ts';
import { emptyProvisioned, type Provisioned, provision } from './provision.ts';

/**
 * The local runtime: what the stacks deploy, provisioned on the sandbox from the operator's configuration,
 * with the real handlers wired the way the stacks wire them (same function names, sizes, rule patterns and
 * schedules, from `@nvcf-ecr/core`'s `events/`). The runtime is *given* the handlers — the CLI's `sandbox`
 * and `demo` commands and the tests compose them from `functions/` — so this package never imports
 * `functions/`. A handler that is not given is not wired: no stand-in answers in its place.
 *
 * Provisioning goes through the emulated AWS APIs with real SDK clients and the sandbox's service key, so
 * it exercises the same API calls a deployment makes; it runs at start and again after `POST reset`, and is
 * idempotent (a restart with `--state` finds everything in place and changes nothing).
 */

/** What a handler factory gets: the surroundings a deployed function would have, pointed at the sandbox. */
export interface HandlerEnvironment {
  config: Config;
  accountId: string;
  region: string;
  endpoints: Endpoints;
  /**
   * Credentials the function's execution role would have (the sandbox admin key: the stacks prove least
   * privilege separately, with synthesised templates and policy simulation).
   */
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** The virtual clock. */
  now: () => Date;
  /**
   * How the function pauses and measures its waits, with `virtualWaits`: on the virtual clock, each pause charged
   * to the invocation (`LambdaRegistry.pause`). Absent: real time.
   */
  waits?: { sleep(ms: number): Promise<void>; monotonic(): number } | undefined;
  logger: Logger;
  eventBusName: string;
  reportBucket: string;
}

export type HandlerFactory = (env: HandlerEnvironment) => LambdaHandler;

export type RuntimeHandlers = Partial<Record<FunctionKey, HandlerFactory>>;

export interface RuntimeOptions {
  config?: Config | undefined;
  handlers?: RuntimeHandlers | undefined;
  /** Bare emulators: provision nothing, wire nothing. */
  noFunctions?: boolean | undefined;
  /** The NGC API key the NVCF emulator accepts; the runtime stores it in the NGC key secret. */
  ngcApiKey?: string | undefined;
  /** Home region (where the functions, secrets, bus and bucket live). */
  region?: string | undefined;
  /** Values stored under webhooks' `secretName`s before they are provisioned (`webhooks.ts`). */
  webhookSecrets?: Readonly<Record<string, string>> | undefined;
  /** Timeouts replacing the deployed ones (tests that exceed a timeout). */
  functionTimeoutSeconds?: Partial<Record<FunctionKey, number>> | undefined;
  /** Functions pause on the virtual clock (`HandlerEnvironment.waits`). */
  virtualWaits?: boolean | undefined;
}

/** A function the runtime registered. */
export interface RuntimeFunction {
  key: FunctionKey;
  name: string;
  arn: string;
  timeoutSeconds: number;
  memoryMb: number;
}

/** The runtime as a service module: `GET /_sandbox/state` shows it under `runtime` (a contract). */
export function runtimeModule(world: World, options: RuntimeOptions): ServiceModule {
  const region = options.region ?? world.regions[0] ?? 'us-east-1';
  const active = options.config !== undefined && !options.noFunctions;
  let provisioned: Provisioned = emptyProvisioned();
  let functions: RuntimeFunction[] = [];

  const registry = (): LambdaRegistry => {
    if (!(world.lambda instanceof LambdaRegistry)) {
      throw new SandboxError('the local runtime needs the sandbox Lambda registry to register handlers');
    }
    return world.lambda;
  };

  /** Registers every given handler once per sandbox (reset keeps them, as a redeploy would). */
  const register = (config: Config) => {
    const lambda = registry();
    functions = [];
    for (const [key, factory] of Object.entries(options.handlers ?? {}) as [
      FunctionKey,
      HandlerFactory | undefined,
    ][]) {
      if (!factory) continue;
      const spec = FUNCTIONS[key];
      const timeoutSeconds = options.functionTimeoutSeconds?.[key] ?? spec.timeoutSeconds;
      if (!(timeoutSeconds > 0 && timeoutSeconds <= 900))
        throw new SandboxError(
          `functionTimeoutSeconds.${key} must be a number of seconds above 0 and at most 900 (Lambda's maximum), got ${timeoutSeconds}`,
        );
      const arn = functionArn(world.partition, region, world.accountId, spec.name);
      const env: HandlerEnvironment = {
        config,
        accountId: world.accountId,
        region,
        endpoints: world.endpoints,
        credentials: { ...world.serviceKey },
        now: () => world.clock.now(),
        ...(options.virtualWaits
          ? { waits: { sleep: (ms: number) => lambda.pause(ms), monotonic: () => world.clock.nowMs() } }
          : {}),
        logger: world.log.child({ function: spec.name }),
        eventBusName: PROJECT_EVENT_BUS_NAME,
        reportBucket: reportBucketName(world.accountId, region),
      };
      lambda.register({
        arn,
        name: spec.name,
        handler: factory(env),
        timeoutSeconds,
        memoryMb: spec.memoryMb,
      });
      functions.push({
        key,
        name: spec.name,
        arn,
        timeoutSeconds,
        memoryMb: spec.memoryMb,
      });
    }
  };

  const run = async () => {
    if (!active || !options.config) return;
    provisioned = await provision({
      world,
      config: options.config,
      region,
      ngcApiKey: options.ngcApiKey,
      webhookSecrets: options.webhookSecrets,
      functions: Object.fromEntries(functions.map((f) => [f.key, f.arn])) as Partial<
        Record<FunctionKey, string>
      >,
    });
    world.changed();
  };

  return {
    name: 'runtime',
    inspect: () => ({
      registries: provisioned.registries,
      functions,
      rules: provisioned.rules,
      webhooks: provisioned.webhooks,
      deadLetters: world.lambda instanceof LambdaRegistry ? world.lambda.deadLetters : [],
      eventBusName: active ? PROJECT_EVENT_BUS_NAME : undefined,
      reportBucket: active ? reportBucketName(world.accountId, region) : undefined,
      skipped: provisioned.skipped,
    }),
    // Everything the runtime creates lives in the services' own state; it re-derives its view at start.
    snapshot: () => ({}),
    restore: () => {},
    reset: async () => {
      provisioned = emptyProvisioned();
      await run();
    },
    start: async () => {
      if (!active || !options.config) return;
      register(options.config);
      await run();
    },
  };
}
