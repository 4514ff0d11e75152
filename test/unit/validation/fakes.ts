/**
 * Test doubles at the SDK client boundary for the push validation (as Powertools mocks at the client boundary; the
 * project has no aws-sdk-client-mock, so these are small hand-written fakes): an ECR repository answering
 * `BatchGetImage` and `GetDownloadUrlForLayer` from a {@link MemoryRepo}, the presigned-URL `fetch`, and an
 * EventBridge that records `PutEvents`. Every call is recorded so tests count round trips.
 */
import {
  BatchGetImageCommand,
  type BatchGetImageCommandOutput,
  GetDownloadUrlForLayerCommand,
  type GetDownloadUrlForLayerCommandOutput,
  type ImageFailure,
  LayersNotFoundException,
} from '@aws-sdk/client-ecr';
import type { Config } from '@nvcf-ecr/core/config';
import type { EcrImageApi } from '@nvcf-ecr/core/image';
import type { MetricRecord } from '@nvcf-ecr/core/metrics';
import type { EventEntry, PutEventsResult } from '@nvcf-ecr/core/ports';
import type { EcrImageActionEvent, VerdictEventsApi } from '@nvcf-ecr/core/validation';
import { ACCOUNT, EXAMPLE_PLATFORMS, HOST, prodConfig } from '../../helpers/config.ts';
import { MemoryRepo } from '../image/helpers.ts';

export { ACCOUNT, HOST as HOSTNAME };
export const REGION = 'us-east-1';

/** A configuration like the example: `inference` needs amd64, `inference-gb200` amd64 and arm64. */
export function testConfig(): Config {
  return prodConfig(EXAMPLE_PLATFORMS);
}

/** An `ECR Image Action` PUSH of `digest` under `tag` (`""` for an untagged manifest), as ECR sends it. */
export function pushEvent(
  repository: string,
  digest: string,
  tag: string,
  detail: Record<string, unknown> = {},
): EcrImageActionEvent {
  return {
    version: '0',
    id: '446d9337-ebe2-cf4f-42e6-42be36883bbd',
    'detail-type': 'ECR Image Action',
    source: 'aws.ecr',
    account: ACCOUNT,
    time: '2025-09-25T12:38:34Z',
    region: REGION,
    resources: [],
    detail: {
      result: 'SUCCESS',
      'repository-name': repository,
      'image-digest': digest,
      'action-type': 'PUSH',
      'image-tag': tag,
      'manifest-media-type': 'application/vnd.oci.image.index.v1+json',
      ...detail,
    },
  };
}

export interface EcrCall {
  op: 'BatchGetImage' | 'GetDownloadUrlForLayer';
  input: Record<string, unknown>;
}

/** The signature a presigned URL carries: it must never show up in a message. */
export const URL_SIGNATURE = 'c2lnbmF0dXJlLW9mLXRoZS1wcmVzaWduZWQtdXJs';

/** An ECR repository over a {@link MemoryRepo}, with presigned URLs served by {@link FakeEcr.fetch}. */
export class FakeEcr implements EcrImageApi {
  public readonly repo: MemoryRepo;
  public readonly calls: EcrCall[] = [];
  /** Tags of the repository (for BatchGetImage by tag). */
  public readonly tags = new Map<string, string>();
  public readonly downloads: string[] = [];
  /** Digests answered with a failure entry instead of the image. */
  public readonly failures = new Map<string, { code: string; reason: string }>();
  /** Thrown by the next calls of an operation (one error per call, in order). */
  public readonly errors: { op: EcrCall['op']; error: Error }[] = [];
  /** Answer for a presigned URL GET (default: the blob, 200). */
  public respond: (digest: string, bytes: Uint8Array | undefined, init?: RequestInit) => Promise<Response> =
    async (_digest, bytes) =>
      bytes === undefined
        ? new Response('<Error><Code>NoSuchKey</Code></Error>', { status: 404 })
        : new Response(bytes, { status: 200, headers: { 'content-length': String(bytes.length) } });

  public constructor(repo: MemoryRepo = new MemoryRepo()) {
    this.repo = repo;
  }

  public send(command: BatchGetImageCommand): Promise<BatchGetImageCommandOutput>;
  public send(command: GetDownloadUrlForLayerCommand): Promise<GetDownloadUrlForLayerCommandOutput>;
  public async send(
    command: BatchGetImageCommand | GetDownloadUrlForLayerCommand,
  ): Promise<BatchGetImageCommandOutput | GetDownloadUrlForLayerCommandOutput> {
    const op = command instanceof BatchGetImageCommand ? 'BatchGetImage' : 'GetDownloadUrlForLayer';
    this.calls.push({ op, input: { ...command.input } as Record<string, unknown> });
    await Promise.resolve();
    const planned = this.errors.findIndex((e) => e.op === op);
    if (planned >= 0) {
      const [next] = this.errors.splice(planned, 1);
      throw next?.error;
    }
    if (command instanceof GetDownloadUrlForLayerCommand) {
      const digest = command.input.layerDigest ?? '';
      if (!this.repo.blobs.has(digest)) {
        throw new LayersNotFoundException({ message: `The layer '${digest}' does not exist`, $metadata: {} });
      }
      return {
        $metadata: {},
        layerDigest: digest,
        downloadUrl: `https://layers.example.test/${digest}?X-Amz-Signature=${URL_SIGNATURE}`,
      };
    }
    const images: NonNullable<BatchGetImageCommandOutput['images']> = [];
    const failures: ImageFailure[] = [];
    for (const id of command.input.imageIds ?? []) {
      const digest = id.imageDigest ?? this.tags.get(id.imageTag ?? '');
      const planned = digest ? this.failures.get(digest) : undefined;
      const m = digest ? this.repo.manifests.get(digest) : undefined;
      if (planned)
        failures.push({
          imageId: id,
          failureCode: planned.code as ImageFailure['failureCode'],
          failureReason: planned.reason,
        });
      else if (!m)
        failures.push({
          imageId: id,
          failureCode: 'ImageNotFound',
          failureReason: 'Requested image not found',
        });
      else {
        images.push({
          registryId: command.input.registryId ?? ACCOUNT,
          repositoryName: command.input.repositoryName,
          imageId: { imageDigest: m.digest, ...(id.imageTag ? { imageTag: id.imageTag } : {}) },
          imageManifest: new TextDecoder().decode(m.bytes),
          imageManifestMediaType: m.mediaType,
        });
      }
    }
    return { $metadata: {}, images, failures };
  }

  /** `fetch` for the presigned URLs this fake hands out. */
  public readonly fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    const digest = url.pathname.slice(1);
    this.downloads.push(digest);
    return this.respond(digest, this.repo.blobs.get(digest), init);
  }) as typeof globalThis.fetch;

  public count(op: EcrCall['op']): number {
    return this.calls.filter((c) => c.op === op).length;
  }
}

/** An EventBridge recording every entry; `answer` decides the response. */
export class FakeEvents implements VerdictEventsApi {
  public readonly entries: EventEntry[] = [];
  public answer: (entry: EventEntry) => PutEventsResult | Error = () => ({
    FailedEntryCount: 0,
    Entries: [{ EventId: `event-${this.entries.length}` }],
  });

  public async putEvents(entries: readonly EventEntry[]): Promise<PutEventsResult> {
    const entry = entries[0] as EventEntry;
    this.entries.push(entry);
    const out = this.answer(entry);
    if (out instanceof Error) throw out;
    return out;
  }

  /** The `detail` of every entry put, parsed. */
  public details(): Record<string, unknown>[] {
    return this.entries.map((e) => JSON.parse(e.Detail ?? '{}') as Record<string, unknown>);
  }
}

export function metricsCollector(): ((m: MetricRecord) => void) & { records: MetricRecord[] } {
  const records: MetricRecord[] = [];
  return Object.assign((m: MetricRecord) => void records.push(m), { records });
}
