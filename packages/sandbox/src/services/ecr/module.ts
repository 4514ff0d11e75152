import { SandboxError } from '../../errors.ts';
import type { ControlRoute, ServiceModule } from '../../module.ts';
import type { World } from '../../world.ts';
import { ecrPublicModule } from '../ecr-public/module.ts';
import type { ServiceModuleOptions } from '../index.ts';
import { createRegistryHandler } from '../registry/handlers.ts';
import { s3Module } from '../s3/module.ts';
import { EcrBackend, type EcrSnapshot } from './backend.ts';
import { type LayerReader, parseLayerObject } from './layers.ts';
import type { ImageRecord, RepositoryRecord } from './records.ts';
import { ecrService } from './routes.ts';
import { applySeed } from './seed.ts';
import type { ImageStore } from './store.ts';

/**
 * The ECR module: the JSON API, the OCI registry listener over the same storage, the `ecr` sections of the
 * control plane (`GET state`, `POST seed`, `POST ecr/expire`) and persistence.
 */

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

/** Test-only view of one repository: everything but blob bytes. */
export function repositoryState(repo: RepositoryRecord): Record<string, unknown> {
  return {
    name: repo.name,
    arn: repo.arn,
    uri: repo.uri,
    createdAt: iso(repo.createdAt),
    imageTagMutability: repo.imageTagMutability,
    blobCount: repo.blobs.size,
    uploadsInProgress: repo.uploads.size,
    images: [...repo.images.values()].map((i: ImageRecord) => ({
      digest: i.digest,
      mediaType: i.mediaType,
      artifactMediaType: i.artifactMediaType,
      tags: [...i.tags],
      sizeInBytes: i.sizeInBytes,
      pushedAt: iso(i.pushedAt),
      lastRecordedPullTime: iso(i.lastPulledAt),
      children: [...i.children],
      subject: i.subject,
    })),
  };
}

function sectionOf(section: unknown, name: string): Record<string, unknown> {
  if (!section || typeof section !== 'object' || Array.isArray(section)) {
    throw new SandboxError(`${name} must be an object: {repositories, blobs, images, emitEvents}`);
  }
  return section as Record<string, unknown>;
}

export function ecrModule(world: World, backend: EcrBackend): ServiceModule {
  const home = world.regions[0] ?? 'us-east-1';
  const storeFor = (body: Record<string, unknown>): ImageStore => {
    const region = body['region'] ?? home;
    if (typeof region !== 'string' || region === '') throw new SandboxError('region must be a region name');
    return backend.store(region);
  };

  const expire: ControlRoute = (body) => {
    const b = sectionOf(body, 'body');
    const store = storeFor(b);
    const repo = typeof b['repository'] === 'string' ? store.repositories.get(b['repository']) : undefined;
    if (!repo)
      throw new SandboxError(
        `repository must name an existing repository, got ${JSON.stringify(b['repository'])}`,
      );
    const image = typeof b['digest'] === 'string' ? repo.images.get(b['digest']) : undefined;
    if (!image)
      throw new SandboxError(`digest must name an image of ${repo.name}, got ${JSON.stringify(b['digest'])}`);
    // A lifecycle expiry removes the manifest whatever references it: the only way an index loses a child.
    const expired = store.removeImage(repo, image, true);
    world.changed();
    return { expired };
  };

  return {
    name: 'ecr',
    json: [ecrService(world, backend)],
    listeners: { registry: createRegistryHandler(world, backend) },
    control: { 'POST ecr/expire': expire },
    seed: (section) => {
      const body = sectionOf(section, 'ecr');
      return applySeed(storeFor(body), body, 'ecr');
    },
    inspect: () => ({
      tokens: backend.tokens.size,
      // Every ECR Image Action the sandbox put on a bus, in order (the latest 1000).
      events: { emitted: backend.emitted.count, recent: backend.emitted.recent },
      repositories: backend
        .regions()
        .flatMap(([region, store]) =>
          [...store.repositories.values()].map((r) => ({ region, ...repositoryState(r) })),
        ),
    }),
    snapshot: () => backend.snapshot(),
    restore: (data) => backend.restore(data as EcrSnapshot),
    reset: () => backend.reset(),
  };
}

/**
 * ECR, ECR Public and S3, wired together: S3 serves the layer objects GetDownloadUrlForLayer presigns from
 * ECR's storage. The ECR Public alias is the config's (`publicAlias`), else `sandbox-<account>`.
 */
export function ecrModules(world: World, options: ServiceModuleOptions): ServiceModule[] {
  const ecr = new EcrBackend(world);
  const layers: LayerReader = (bucket, key) => {
    const object = parseLayerObject(world.accountId, bucket, key);
    if (!object) return undefined;
    return ecr.store(object.region).repositories.get(object.repository)?.blobs.get(object.digest)?.data;
  };
  const alias =
    options.config?.registries.find((r) => r.kind === 'public')?.publicAlias ?? `sandbox-${world.accountId}`;
  return [ecrModule(world, ecr), ecrPublicModule(world, alias), s3Module(world, layers)];
}
