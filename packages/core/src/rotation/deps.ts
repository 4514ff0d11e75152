import type { ECRClient } from '@aws-sdk/client-ecr';
import type { ECRPUBLICClient } from '@aws-sdk/client-ecr-public';
import type { IAMClient } from '@aws-sdk/client-iam';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { STSClient } from '@aws-sdk/client-sts';
import type { Config } from '../config/index.ts';
import type { AccessKeyPair } from '../credential/codec.ts';
import type { Logger } from '../log.ts';
import { type MetricRecord, type MetricSink, noMetrics } from '../metrics.ts';
import type { EventBus } from '../ports/aws.ts';
import type { NvcfRegistryCredentialsPort } from '../ports/nvcf.ts';
import { type BackoffOptions, DEFAULT_BACKOFF } from './wait.ts';

/**
 * What the rotation steps and the retirement are given (core builds no client, root README.md: clients are
 * built at the edge and passed in). `clientsForKey` builds clients signed with a given key pair — the new key
 * is proven with itself, so the rotation function's own role needs nothing on STS or ECR.
 */

/** Clients signed with one key pair; `destroy` closes their sockets when the step is done with them. */
export interface KeyClients {
  readonly sts: STSClient;
  /** ECR in the registry's region (private registries). */
  readonly ecr: ECRClient;
  /**
   * ECR Public in us-east-1, where its token is issued
   * (https://docs.aws.amazon.com/AmazonECR/latest/public/public-registry-auth.html).
   */
  readonly ecrPublic: ECRPUBLICClient;
  destroy(): void;
}

/**
 * Builds clients signed with `key`: STS and ECR in `region` (the registry's), ECR Public in us-east-1.
 */
export type ClientsForKey = (key: AccessKeyPair, region: string) => KeyClients;

/** Time budgets of the waits (defaults keep a whole step well inside the 5-minute Lambda timeout). */
export interface RotationTiming {
  /** setSecret: until the new key authenticates (STS) and gets an ECR token. */
  readonly keyPropagationBudgetMs: number;
  /** setSecret: until NVCF accepts the key (it checks it against ECR itself). */
  readonly nvcfBudgetMs: number;
  /** testSecret: each of its proofs (key, canary image). */
  readonly testBudgetMs: number;
  /**
   * testSecret: until NVCF shows this rotation's update. NVCF's API pods cache a credential's metadata for
   * 1 minute, invalidated only on the pod that took the write (`RegistryCredentialLookupService` in NVIDIA/nvcf):
   * a read may show the state
   * of a minute ago, so the wait outlasts that cache.
   */
  readonly nvcfVisibleBudgetMs: number;
  /**
   * How long after a CreateAccessKey `ListAccessKeys` may still not show the key. IAM documents eventual
   * consistency without a bound; 30 s is six times the sandbox's pessimistic `iamListLagSeconds`.
   */
  readonly iamListLagMs: number;
  readonly backoff: BackoffOptions;
}

/**
 * The defaults: 90 s + 60 s for setSecret, 2 × 30 s + 75 s for testSecret, against the function's 300 s timeout
 * (`FUNCTIONS.rotateCredential`). IAM keys usually work within 5–15 s (observed, e.g.
 * https://github.com/aws/aws-sdk-js/issues/559; AWS publishes no bound); NVCF's metadata cache lives 1 minute
 * on pods that did not take the write (`RegistryCredentialLookupService` in NVIDIA/nvcf), which bounds
 * testSecret's wait for `lastUpdatedAt`.
 */
export const DEFAULT_TIMING: RotationTiming = {
  keyPropagationBudgetMs: 90_000,
  nvcfBudgetMs: 60_000,
  testBudgetMs: 30_000,
  nvcfVisibleBudgetMs: 75_000,
  iamListLagMs: 30_000,
  backoff: DEFAULT_BACKOFF,
};

/**
 * What every rotation verb is given — the rotation steps, the retirement — (clients built at the edge and
 * passed in).
 */
export interface RotationServices {
  readonly config: Config;
  readonly secrets: SecretsManagerClient;
  readonly iam: IAMClient;
  readonly nvcf: NvcfRegistryCredentialsPort;
  /** The project bus; events are skipped when absent. */
  readonly events?: EventBus | undefined;
  readonly eventBusName?: string | undefined;
  /** Wall clock for everything the system records (key `createdAt`, grace periods): the sandbox's is virtual. */
  readonly now: () => Date;
  readonly logger: Logger;
  readonly metrics?: MetricSink | undefined;
}

export interface RotationDeps extends RotationServices {
  readonly clientsForKey: ClientsForKey;
  /** Real elapsed time for wait budgets (default `performance.now`). */
  readonly monotonic?: (() => number) | undefined;
  readonly sleep?: ((ms: number) => Promise<void>) | undefined;
  /**
   * Milliseconds left to the invocation (Lambda's `context.getRemainingTimeInMillis`); absent: no limit. Every
   * wait and every NVCF call of a step ends {@link REPORT_RESERVE_MS} before it, so that the failure path
   * (the check of the current key, the failure tag, the Failed event) always runs before Lambda stops the
   * function.
   */
  readonly timeLeftMs?: (() => number) | undefined;
  readonly timing?: Partial<RotationTiming> | undefined;
}

/**
 * What a step leaves of the invocation for the failure path: a DescribeSecret, a GetSecretValue, one STS call
 * with the current key, a TagResource and a PutEvents, each bounded by the SDK's request timeout at the edge.
 */
export const REPORT_RESERVE_MS = 15_000;

/** Deps with every default filled in. */
export interface ResolvedDeps extends RotationDeps {
  /** Milliseconds a step may still spend: the invocation's time left minus {@link REPORT_RESERVE_MS}. */
  readonly timeLeft: () => number;
  readonly monotonic: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly metric: (record: MetricRecord) => void;
  readonly timing: RotationTiming;
}

export function resolveDeps(deps: RotationDeps): ResolvedDeps {
  const sink = deps.metrics ?? noMetrics;
  return {
    ...deps,
    timeLeft: () => (deps.timeLeftMs ? deps.timeLeftMs() - REPORT_RESERVE_MS : Number.POSITIVE_INFINITY),
    monotonic: deps.monotonic ?? (() => performance.now()),
    sleep: deps.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
    metric: (record) => {
      try {
        sink(record);
      } catch {
        // A metric must never fail a rotation.
      }
    },
    timing: {
      ...DEFAULT_TIMING,
      ...deps.timing,
      backoff: { ...DEFAULT_TIMING.backoff, ...deps.timing?.backoff },
    },
  };
}

/** The event target of the deps, when a bus is configured. */
export function eventTarget(deps: RotationDeps) {
  return deps.events && deps.eventBusName ? { client: deps.events, busName: deps.eventBusName } : undefined;
}

/** Metric names (namespace `NvcfEcrAutopilot`, dimension `Registry`). */
export const ROTATION_METRICS = {
  stepDuration: 'RotationStepDuration',
  stepFailed: 'RotationStepFailed',
  rotated: 'CredentialRotated',
  orphanKeysDeleted: 'OrphanKeysDeleted',
  keyDeleted: 'PreviousKeyDeleted',
  keyRetired: 'PreviousKeyRetired',
  retirementPostponed: 'PreviousKeyRetirementPostponed',
  keyPropagationMs: 'KeyPropagationTime',
  /** Days since the AWSCURRENT version (the current key) was stored; the hourly retirement emits it. */
  currentKeyAge: 'CurrentKeyAgeDays',
  /** Days since the last rotation that completed (`LastRotatedDate`); the hourly retirement emits it. */
  daysSinceRotation: 'DaysSinceLastRotation',
} as const;
