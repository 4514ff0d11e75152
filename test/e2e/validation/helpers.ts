/**
 * Helpers of the push-validation end-to-end tests: a sandbox composed with the real validation handler (as
 * the CLI composes it), pushes of real images from OCI layouts — through the ECR layer-upload API
 * (`InitiateLayerUpload`/`UploadLayerPart`/`CompleteLayerUpload`/`PutImage`, children before their index, as
 * a registry client does) or with `skopeo copy --all` against the sandbox's registry listener — and readers
 * of the verdict events and of the calls the handler made.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type ECRClient, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import type { Config } from '@nvcf-ecr/core/config';
import { openOciLayout } from '@nvcf-ecr/core/image';
import { createLogger, type LogRecord, memorySink } from '@nvcf-ecr/core/log';
import type { ImageValidationDetail } from '@nvcf-ecr/core/validation';
import {
  type EventLogEntry,
  type LambdaHandler,
  pushImage,
  type RunningSandbox,
  type SandboxOptions,
  startSandbox,
} from '@nvcf-ecr/sandbox';
import { fromSandboxEnvironment } from '../../../functions/lib/sandbox.ts';
import { createValidatePushHandler } from '../../../functions/validate-push.ts';
import { control } from '../../helpers/sandbox.ts';

export { REGCLIENT } from '../../helpers/regclient.ts';
export const BUILT = 'test/fixtures/images';

/** A real OCI layout read in place: manifests by ref name, blobs by digest. */
export class Layout {
  public readonly dir: string;
  private readonly refs: Map<string, string>;

  public constructor(dir: string) {
    this.dir = dir;
    const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as {
      manifests: { digest: string; annotations?: Record<string, string> }[];
    };
    this.refs = new Map(
      index.manifests.flatMap((m) => {
        const ref = m.annotations?.['org.opencontainers.image.ref.name'];
        return ref ? [[ref, m.digest] as [string, string]] : [];
      }),
    );
  }

  public digest(ref: string): string {
    const d = this.refs.get(ref);
    if (!d) throw new Error(`${this.dir} has no ref ${ref}`);
    return d;
  }

  public bytes(digest: string): Buffer {
    return readFileSync(join(this.dir, 'blobs', 'sha256', digest.slice('sha256:'.length)));
  }

  public json(digest: string): Record<string, unknown> {
    return JSON.parse(this.bytes(digest).toString('utf8')) as Record<string, unknown>;
  }
}

interface Descriptor {
  digest: string;
  mediaType?: string;
  platform?: { os?: string; architecture?: string; variant?: string };
  annotations?: Record<string, string>;
}

/** The index entries of a manifest (empty for an image manifest). */
export function entriesOf(layout: Layout, digest: string): Descriptor[] {
  return (layout.json(digest)['manifests'] as Descriptor[] | undefined) ?? [];
}

/**
 * Pushes `ref` of `layout` through the ECR API as a registry client does (the sandbox package's `pushImage`:
 * missing blobs uploaded, children untagged, then the root under `tag`). Returns the root's digest.
 */
export async function pushWithApi(
  ecr: ECRClient,
  layout: Layout,
  ref: string,
  repositoryName: string,
  tag: string,
): Promise<string> {
  const source = await openOciLayout(layout.dir);
  try {
    return (await pushImage(ecr, source, ref, { repositoryName, tag })).digest;
  } finally {
    await source.close();
  }
}

/** The password of an ECR token (`base64(AWS:<password>)`), for `skopeo --dest-creds AWS:<password>`. */
export async function registryPassword(ecr: ECRClient): Promise<string> {
  const { authorizationData } = await ecr.send(new GetAuthorizationTokenCommand({}));
  const decoded = Buffer.from(authorizationData?.[0]?.authorizationToken ?? '', 'base64').toString('utf8');
  return decoded.slice(decoded.indexOf(':') + 1);
}

/** `skopeo copy --all oci:<layout>:<ref> docker://<sandbox registry>/<repository>:<tag>`. */
export async function pushWithSkopeo(
  sb: RunningSandbox,
  password: string,
  layout: Layout,
  ref: string,
  repository: string,
  tag: string,
): Promise<string> {
  const host = new URL(sb.registryEndpoint).host;
  await promisify(execFile)('skopeo', [
    'copy',
    '--all',
    '--quiet',
    // The sandbox's registry listens on plain HTTP on 127.0.0.1.
    '--dest-tls-verify=false',
    '--dest-creds',
    `AWS:${password}`,
    `oci:${layout.dir}:${ref}`,
    `docker://${host}/${repository}:${tag}`,
  ]);
  return layout.digest(ref);
}

export interface ValidationSandbox {
  sb: RunningSandbox;
  /** Every line the sandbox and the handler logged. */
  logs: LogRecord[];
  arn: string;
}

/** A sandbox running `config` with the real validation handler, composed as `nvcf-ecr sandbox` composes it. */
export async function startValidationSandbox(
  config: Config,
  options: Pick<SandboxOptions, 'functionTimeoutSeconds'> = {},
): Promise<ValidationSandbox> {
  const sink = memorySink();
  const sb = await startSandbox({
    ...options,
    config,
    logger: createLogger({ sink, level: 'debug' }),
    handlers: {
      validatePush: (env) => createValidatePushHandler(fromSandboxEnvironment(env)) as LambdaHandler,
    },
  });
  const arn = sb.lambda.list().find((f) => f.name === 'nvcf-ecr-validate-push')?.arn ?? '';
  return { sb, logs: sink.records, arn };
}

/** Every `NVCF Image Validation` event, with the rules it matched. */
export async function verdictEvents(
  sb: RunningSandbox,
): Promise<(EventLogEntry & { detail: ImageValidationDetail })[]> {
  const { events } = await control<{ events: EventLogEntry[] }>(
    sb,
    'GET',
    `events?detailType=${encodeURIComponent('NVCF Image Validation')}`,
  );
  return events.map((e) => ({ ...e, detail: e.event.detail as unknown as ImageValidationDetail }));
}

/** The verdicts published for one repository. */
export async function verdictsFor(sb: RunningSandbox, repository: string): Promise<ImageValidationDetail[]> {
  return (await verdictEvents(sb)).filter((e) => e.detail.repository === repository).map((e) => e.detail);
}

/** The `ECR Image Action` events the sandbox's ECR emitted for one repository. */
export async function ecrEvents(sb: RunningSandbox, repository: string): Promise<EventLogEntry[]> {
  const { events } = await control<{ events: EventLogEntry[] }>(sb, 'GET', 'events?source=aws.ecr');
  return events.filter((e) => (e.event.detail as Record<string, unknown>)['repository-name'] === repository);
}

interface Call {
  seq: number;
  service: string;
  operation: string;
  accessKeyId?: string;
}

/** The sequence number of the last answered call (count calls after it). */
export async function lastCall(sb: RunningSandbox): Promise<number> {
  const { calls } = await control<{ calls: Call[] }>(sb, 'GET', 'calls');
  return calls.at(-1)?.seq ?? 0;
}

/**
 * Calls the handler made since `since`, as `service.Operation` counts. The handler signs with the runtime's
 * key (the execution role's stand-in) and so do the presigned layer URLs; the tests push with the admin key.
 */
export async function handlerCalls(sb: RunningSandbox, since: number): Promise<Record<string, number>> {
  const { calls } = await control<{ calls: Call[] }>(sb, 'GET', `calls?since=${since}`);
  const out: Record<string, number> = {};
  for (const c of calls) {
    if (c.accessKeyId !== sb.world.serviceKey.accessKeyId) continue;
    const key = `${c.service}.${c.operation}`;
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}
