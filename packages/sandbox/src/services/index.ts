import type { Config } from '@nvcf-ecr/core';
import type { ServiceModule } from '../module.ts';
import type { World } from '../world.ts';
import { iamModule } from './iam/module.ts';

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
}

/**
 * Every emulated service, in dependency order (EventBridge before the services that emit events). Each
 * service folder contributes one line here.
 */
export function createServiceModules(world: World, _options: ServiceModuleOptions): ServiceModule[] {
  return [iamModule(world)];
}
