import type { Logger } from '@nvcf-ecr/core/log';
import type { VirtualClock } from './clock.ts';
import type { FaultRegistry } from './faults.ts';
import type { Throttle } from './pacing.ts';
import type { SandboxProfile } from './profile.ts';
import type { IamBackend } from './services/iam/backend.ts';
import type { WorkTracker } from './tracker.ts';

/**
 * What every emulated service shares: the account, the clock, faults, background work, IAM (every request is
 * authenticated against its keys) and the hooks services use to reach each other (ECR emits events onto
 * EventBridge; Secrets Manager invokes rotation Lambdas; NVCF validates credentials against ECR). Services get
 * the world at construction and never import each other's modules beyond these interfaces.
 */

export interface Endpoints {
  /** AWS APIs (JSON 1.1, Query/XML, S3 path-style). */
  aws: string;
  /** OCI distribution API over the ECR storage. */
  registry: string;
  /** NVCF API (`/v2/nvcf/...`). */
  nvcf: string;
  /** Control plane (`/_sandbox/...`). */
  control: string;
}

/** An event to put on a bus, as `PutEvents` takes it (Detail is a JSON string). */
export interface EventEntry {
  Source: string;
  DetailType: string;
  Detail: string;
  Resources?: string[] | undefined;
  EventBusName?: string | undefined;
  Time?: Date | undefined;
}

/** EventBridge as the other services see it. */
export interface EventBus {
  /** Puts events from an AWS service (no authorisation: the service itself is the sender). */
  putServiceEvents(region: string, entries: EventEntry[]): void;
}

export interface LambdaContextLike {
  awsRequestId: string;
  functionName: string;
  functionVersion: string;
  invokedFunctionArn: string;
  memoryLimitInMB: string;
  logGroupName: string;
  logStreamName: string;
  callbackWaitsForEmptyEventLoop: boolean;
  getRemainingTimeInMillis(): number;
}

/** Lambda as the other services see it (the local runtime registers the real handlers by ARN). */
export interface LambdaInvoker {
  has(arn: string): boolean;
  /** Synchronous invocation (`RequestResponse`): resolves with the result, rejects with the function's error. */
  invoke(arn: string, event: unknown): Promise<unknown>;
  /** Asynchronous invocation (`Event`): retried as Lambda does, then dead-lettered. */
  invokeAsync(arn: string, event: unknown, source: string): void;
}

/** One call an emulated service answered (the request log and call observers see these). */
export interface CallRecord {
  readonly seq: number;
  readonly service: string;
  readonly operation: string;
  /** HTTP status of the answer. */
  readonly status: number;
  /** Error code when the call failed. */
  readonly code?: string | undefined;
  /** Access key id that signed the call, when there was one. */
  readonly accessKeyId?: string | undefined;
  /** True when a fault rule decided the answer. */
  readonly fault: boolean;
  /**
   * True when the call was refused before it reached the service (no, unknown, inactive or not yet propagated
   * key; bad signature): fault rules never see such a call, nor count it towards their `skip`.
   */
  readonly refused?: true | undefined;
  readonly time: string;
}

export interface World {
  readonly accountId: string;
  readonly partition: string;
  readonly regions: readonly string[];
  readonly clock: VirtualClock;
  readonly faults: FaultRegistry;
  /** Per-operation token buckets (`SandboxOptions.throttle`); throttles nothing unless configured. */
  readonly throttle: Throttle;
  readonly tracker: WorkTracker;
  readonly iam: IamBackend;
  readonly log: Logger;
  readonly endpoints: Endpoints;
  readonly events: EventBus;
  readonly lambda: LambdaInvoker;
  /**
   * The sandbox's own key pair, used to presign S3 URLs (what AWS hands out from GetDownloadUrlForLayer) and
   * by emulators that call other emulated services (NVCF validating a credential against ECR).
   */
  readonly serviceKey: { accessKeyId: string; secretAccessKey: string };
  /** The delays and caches in force (`GET`/`POST /_sandbox/profile`), in seconds of the virtual clock. */
  readonly profile: SandboxProfile;
  /** Marks state as changed (persistence writes it soon). */
  changed(): void;
  /**
   * Records an answered call: every emulator calls this once per request it answers, so tests can count API
   * calls (`GET /_sandbox/calls`) and observe the system after every call (`RunningSandbox.onCall`).
   */
  recordCall(call: Omit<CallRecord, 'seq' | 'time'>): void;
}
