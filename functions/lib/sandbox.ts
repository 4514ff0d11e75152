import type { Config } from '@nvcf-ecr/core/config';
import type { Logger } from '@nvcf-ecr/core/log';
import type { FunctionEnvironment } from './environment.ts';

/**
 * What the sandbox's local runtime hands a handler factory (its `HandlerEnvironment`), declared here
 * structurally so that `functions/` does not depend on `packages/sandbox` (dependencies point one way: the
 * runtime is *given* the handlers; the CLI composes them).
 */
export interface SandboxHandlerEnvironment {
  readonly config: Config;
  readonly accountId: string;
  readonly region: string;
  readonly endpoints: { readonly aws: string; readonly nvcf: string };
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  readonly now: () => Date;
  /** Pauses on the sandbox's virtual clock, when it runs with `virtualWaits`. */
  readonly waits?: FunctionEnvironment['waits'];
  readonly logger: Logger;
  readonly eventBusName: string;
  readonly reportBucket: string;
}

/** The handler environment for a run on the sandbox: its endpoints, the admin key, the virtual clock. */
export function fromSandboxEnvironment(env: SandboxHandlerEnvironment): FunctionEnvironment {
  return {
    config: env.config,
    region: env.region,
    awsEndpoint: env.endpoints.aws,
    credentials: {
      accessKeyId: env.credentials.accessKeyId,
      secretAccessKey: env.credentials.secretAccessKey,
    },
    nvcfBaseUrl: env.endpoints.nvcf,
    eventBusName: env.eventBusName,
    reportBucket: env.reportBucket,
    now: env.now,
    ...(env.waits ? { waits: env.waits } : {}),
    logger: env.logger,
    metrics: (m) => env.logger.debug('metric', { metric: m }),
  };
}
