import { ECRClient } from '@aws-sdk/client-ecr';
import { IAMClient } from '@aws-sdk/client-iam';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Config, RegistryConfig } from '@nvcf-ecr/core/config';
import { EVENT_SOURCE } from '@nvcf-ecr/core/events';
import { type RegistryRotationStatus, rotationStatus } from '@nvcf-ecr/core/rotation';
import type { NvcfClient } from '@nvcf-ecr/nvcf';
import type { EventLogEntry, RunningSandbox } from '@nvcf-ecr/sandbox';
import { nvcfClientFor } from '../../../../functions/lib/nvcf.ts';
import { DemoStepError } from '../errors.ts';
import type { Narrator } from './narrate.ts';
import type { DemoProject } from './project.ts';

/**
 * What every step of the demo works with: the running sandbox, SDK clients signed with its admin key (the
 * operator's credentials), the NVCF client the CLI builds (NGC key read from Secrets Manager), the control
 * plane, and the checks a step states its expectations with.
 */

export interface DemoContext {
  readonly sb: RunningSandbox;
  readonly config: Config;
  /** The example configuration's registry (its first). */
  readonly registry: RegistryConfig;
  readonly project: DemoProject;
  /** Where reports are written (`<cwd>/reports`). */
  readonly cwd: string;
  readonly narrator: Narrator;
  readonly aws: { ecr: ECRClient; secrets: SecretsManagerClient; iam: IAMClient; s3: S3Client };
  readonly nvcf: NvcfClient;
  /** What one step leaves for the next. */
  readonly state: DemoState;
  /** Calls the control plane (`/_sandbox/<path>`), as a test or an operator would. */
  control<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T>;
  /** The registry's rotation state, as `nvcf-ecr status` shows it, at the sandbox's (virtual) time. */
  status(): Promise<RegistryRotationStatus>;
  /** Events this project put on its bus, of one detail type, in order. */
  projectEvents<T>(detailType: string): Promise<(EventLogEntry & { detail: T })[]>;
  /** `POST /_sandbox/nvcf/pull`: NVCF starting an instance of a function running `image`. */
  nvcfPull(image: string): Promise<PullResult>;
}

/** What the steps hand on: later steps build on earlier ones. */
export interface DemoState {
  /** Compliant images pushed by the images step (`host/repository:tag`), which NVCF then pulls. */
  pullImages: string[];
  /** The rotation's old and new AWSCURRENT keys, masked. */
  previousKey?: string | undefined;
  currentKey?: string | undefined;
}

export type PullResult = { ok: true; credentialId: string; digest: string } | { ok: false; error: string };

/** States a step's expectation; a false `condition` fails the step with `message`. */
export function expectThat(condition: unknown, message: string): asserts condition {
  if (!condition) throw new DemoStepError(message);
}

export function createDemoContext(
  sb: RunningSandbox,
  config: Config,
  project: DemoProject,
  cwd: string,
  narrator: Narrator,
): DemoContext {
  const registry = config.registries[0];
  if (!registry) throw new DemoStepError(`${project.configPath} lists no registry`);
  const base = {
    region: sb.region,
    endpoint: sb.awsEndpoint,
    credentials: { accessKeyId: sb.accessKeyId, secretAccessKey: sb.secretAccessKey },
    maxAttempts: 3,
  };
  const secrets = new SecretsManagerClient(base);
  const aws = {
    ecr: new ECRClient(base),
    secrets,
    iam: new IAMClient({ ...base, region: 'us-east-1' }),
    s3: new S3Client({ ...base, forcePathStyle: true }),
  };
  const nvcf = nvcfClientFor({ config, nvcfBaseUrl: sb.nvcfEndpoint }, secrets);
  const control = async <T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${sb.controlEndpoint}/_sandbox/${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok)
      throw new DemoStepError(`the sandbox refused ${method} /_sandbox/${path}: ${res.status} ${text}`);
    return (text ? JSON.parse(text) : {}) as T;
  };
  return {
    sb,
    config,
    registry,
    project,
    cwd,
    narrator,
    aws,
    nvcf,
    state: { pullImages: [] },
    control,
    status: () => rotationStatus(registry, { secrets, iam: aws.iam, nvcf, now: () => sb.world.clock.now() }),
    projectEvents: async <T>(detailType: string) => {
      const query = `source=${encodeURIComponent(EVENT_SOURCE)}&detailType=${encodeURIComponent(detailType)}`;
      const { events } = await control<{ events: EventLogEntry[] }>('GET', `events?${query}`);
      return events.map((e) => ({ ...e, detail: e.event.detail as T }));
    },
    nvcfPull: (image) => control<PullResult>('POST', 'nvcf/pull', { image }),
  };
}

/** Releases the clients' sockets. */
export function destroyDemoContext(ctx: DemoContext): void {
  for (const client of Object.values(ctx.aws)) client.destroy();
}
