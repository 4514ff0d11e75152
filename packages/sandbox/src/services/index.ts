import type { Config } from '@nvcf-ecr/core/config';
import type { FunctionKey } from '@nvcf-ecr/core/events';
import type { ServiceModule } from '../module.ts';
import { type RuntimeHandlers, runtimeModule } from '../runtime/runtime.ts';
import type { World } from '../world.ts';
import { ecrModules } from './ecr/module.ts';
import { eventsModule } from './events/module.ts';
import { iamModule } from './iam/module.ts';
import { nvcfModule } from './nvcf/module.ts';
import { secretsManagerModule } from './secretsmanager/module.ts';

/** Options every service factory may read (a subset of SandboxOptions). */
export interface ServiceModuleOptions {
  /** The operator's configuration: the runtime provisions what the stacks would from it. */
  config?: Config | undefined;
  /** The NGC API key the NVCF emulator accepts (generated at start). */
  ngcApiKey?: string | undefined;
  /** Home region. */
  region?: string | undefined;
  /** Delays before the 2nd and 3rd attempt of asynchronous Lambda invocations. */
  asyncRetryDelaysMs?: readonly number[] | undefined;
  /** Attempts of a failing Secrets Manager rotation, the first included (default 3; AWS's count is not published). */
  rotationAttempts?: number | undefined;
  /** Real-time pause between those attempts (default 100 ms). */
  rotationRetryDelayMs?: number | undefined;
  /** Handlers the local runtime wires as the stacks do (the CLI and tests compose them from `functions/`). */
  handlers?: RuntimeHandlers | undefined;
  /**
   * Values the runtime stores under webhooks' `secretName`s before provisioning them (a Slack or Teams URL's
   * secret part, an `Authorization` value), as an operator fills the secret before deploying.
   */
  webhookSecrets?: Readonly<Record<string, string>> | undefined;
  /** Bare emulators: the local runtime provisions and wires nothing. */
  noFunctions?: boolean | undefined;
  /**
   * Timeouts (seconds) replacing the stacks' for some functions, so that a test can exceed one without
   * waiting minutes; default: each function's deployed timeout (core's `FUNCTIONS`).
   */
  functionTimeoutSeconds?: Partial<Record<FunctionKey, number>> | undefined;
  /**
   * The functions' pauses advance the virtual clock instead of sleeping (`HandlerEnvironment.waits`), each charged
   * to its invocation's remaining time: a rotation waits out IAM's propagation and NVCF's caches of the `aws`
   * profile in milliseconds (the demo). Default false: the functions sleep in real time.
   */
  virtualWaits?: boolean | undefined;
}

/**
 * Every emulated service, in dependency order (EventBridge before the services that emit events). Each
 * service folder contributes one line here.
 */
export function createServiceModules(world: World, _options: ServiceModuleOptions): ServiceModule[] {
  return [
    iamModule(world),
    eventsModule(world),
    ...ecrModules(world, _options),
    secretsManagerModule(world, _options),
    nvcfModule(world, _options),
    runtimeModule(world, _options),
  ];
}
