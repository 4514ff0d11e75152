import { presignGet } from '../../auth/sigv4.ts';
import type { JsonOperation, OperationContext } from '../../server/aws.ts';
import type { World } from '../../world.ts';
import {
  archiveDetail,
  IMAGE_STATUS_FILTERS,
  matchesStatus,
  statusOf,
  updateImageStorageClassHandler,
} from './archive.ts';
import type { EcrBackend } from './backend.ts';
import { ecrErrors } from './errors.ts';
import * as input from './input.ts';
import { LAYER_URL_EXPIRY_SECONDS, layerBucket } from './layers.ts';
import { isDigest } from './manifest.ts';
import {
  cleanId,
  type ImageFailure,
  type ImageId,
  type ImageRecord,
  PART_SIZE,
  REASONS,
  type RepositoryRecord,
  TAG_MUTABILITIES,
  type TagMutability,
} from './records.ts';
import type { ImageStore } from './store.ts';
import { encodeAuthorizationToken } from './tokens.ts';

/**
 * ECR operations (AWS JSON 1.1, https://docs.aws.amazon.com/AmazonECR/latest/APIReference/Welcome.html): read
 * members, authorise with the real IAM action on the repository ARN AWS uses, call the store, and answer in the
 * API's shapes (timestamps as `Date`, which the front door writes as epoch seconds).
 */

type Input = Record<string, unknown>;
const TAG_STATUSES = ['TAGGED', 'UNTAGGED', 'ANY'] as const;

/** The Repository members ECR Public answers too (it has no mutability, scanning or encryption settings). */
export function publicRepositoryView(repo: RepositoryRecord): Record<string, unknown> {
  return {
    repositoryArn: repo.arn,
    registryId: repo.registryId,
    repositoryName: repo.name,
    repositoryUri: repo.uri,
    createdAt: new Date(repo.createdAt),
  };
}

export function repositoryView(repo: RepositoryRecord): Record<string, unknown> {
  return {
    ...publicRepositoryView(repo),
    imageTagMutability: repo.imageTagMutability,
    ...(repo.exclusionFilters.length > 0
      ? { imageTagMutabilityExclusionFilters: repo.exclusionFilters }
      : {}),
    imageScanningConfiguration: { scanOnPush: repo.scanOnPush },
    encryptionConfiguration: repo.encryption,
  };
}

/** The ImageDetail members ECR Public answers too. */
export function publicImageDetail(repo: RepositoryRecord, image: ImageRecord): Record<string, unknown> {
  return {
    registryId: repo.registryId,
    repositoryName: repo.name,
    imageDigest: image.digest,
    ...(image.tags.length > 0 ? { imageTags: [...image.tags] } : {}),
    imageSizeInBytes: image.sizeInBytes,
    imagePushedAt: new Date(image.pushedAt),
    imageManifestMediaType: image.mediaType,
    ...(image.artifactMediaType !== undefined ? { artifactMediaType: image.artifactMediaType } : {}),
  };
}

/**
 * `imageDetails[]` members ECR derives from what it stores
 * (https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_ImageDetail.html).
 */
export function imageDetail(
  repo: RepositoryRecord,
  image: ImageRecord,
  nowMs: number,
): Record<string, unknown> {
  return {
    ...publicImageDetail(repo, image),
    ...(image.lastPulledAt !== undefined ? { lastRecordedPullTime: new Date(image.lastPulledAt) } : {}),
    ...(image.subject !== undefined ? { subjectManifestDigest: image.subject } : {}),
    ...archiveDetail(image, nowMs),
  };
}

function imageView(
  repo: RepositoryRecord,
  image: ImageRecord,
  tag: string | undefined,
): Record<string, unknown> {
  return {
    registryId: repo.registryId,
    repositoryName: repo.name,
    imageId: { imageDigest: image.digest, ...(tag !== undefined ? { imageTag: tag } : {}) },
    imageManifest: image.manifest,
    imageManifestMediaType: image.mediaType,
  };
}

const isFailure = (x: ImageRecord | ImageFailure): x is ImageFailure => 'failureCode' in x;

/**
 * The operations that read and write images and layers, shared by ECR and ECR Public (same shapes, same
 * rules); `service` picks the IAM action prefix and `arn` the repository ARN the action is evaluated on.
 */
export interface ImageApi {
  readonly service: 'ecr' | 'ecr-public';
  store(ctx: OperationContext): ImageStore;
  arn(ctx: OperationContext, registryId: string | undefined, name: string): string;
  /** Repository and image shapes (ECR Public's are smaller); default: private ECR's. */
  repositoryView?(repo: RepositoryRecord): Record<string, unknown>;
  imageDetail?(repo: RepositoryRecord, image: ImageRecord, nowMs: number): Record<string, unknown>;
}

export function imageApiHandlers(api: ImageApi): Record<string, JsonOperation> {
  const action = (name: string) => `${api.service}:${name}`;
  const repoView = api.repositoryView ?? repositoryView;
  const detailView = api.imageDetail ?? imageDetail;
  /** Authorise, then find the repository: AWS refuses an unauthorised caller before saying whether it exists. */
  async function repo(
    ctx: OperationContext,
    body: Input,
    iamAction: string,
  ): Promise<{ store: ImageStore; repo: RepositoryRecord }> {
    const name = input.repositoryName(body);
    const registryId = input.registryId(body);
    await ctx.authorize(action(iamAction), api.arn(ctx, registryId, name));
    const store = api.store(ctx);
    return { store, repo: store.repository(name, registryId) };
  }

  return {
    async CreateRepository(ctx, body) {
      const name = input.repositoryName(body);
      const registryId = input.registryId(body);
      const imageTagMutability = input.ecr(body).oneOf<TagMutability>('imageTagMutability', TAG_MUTABILITIES);
      const filters = input.exclusionFilters(body);
      const scanning = input.ecr(body).object('imageScanningConfiguration');
      const encryption = input.ecr(body).object('encryptionConfiguration');
      const encryptionType = encryption
        ? encryption.oneOf('encryptionType', ['AES256', 'KMS', 'KMS_DSSE'])
        : undefined;
      const tags = input.tagList(body);
      await ctx.authorize(action('CreateRepository'), api.arn(ctx, registryId, name));
      const store = api.store(ctx);
      if (registryId !== undefined && registryId !== store.registryId)
        throw ecrErrors.repositoryNotFound(name, registryId);
      const created = store.createRepository({
        name,
        imageTagMutability,
        exclusionFilters: filters,
        scanOnPush: scanning ? scanning.bool('scanOnPush') : undefined,
        encryption: encryptionType
          ? {
              encryptionType,
              ...(encryption?.input['kmsKey'] !== undefined
                ? { kmsKey: String(encryption.input['kmsKey']) }
                : {}),
            }
          : undefined,
        tags,
      });
      return { repository: repoView(created) };
    },

    async DescribeRepositories(ctx, body) {
      const registryId = input.registryId(body);
      const names = input.ecr(body).strList('repositoryNames', { min: 1, max: 100 });
      const store = api.store(ctx);
      if (names) {
        if (body['maxResults'] !== undefined || body['nextToken'] !== undefined) {
          throw ecrErrors.invalidMember(
            'maxResults',
            'maxResults and nextToken cannot be used with repositoryNames',
          );
        }
        for (const n of names)
          await ctx.authorize(action('DescribeRepositories'), api.arn(ctx, registryId, n));
        return { repositories: names.map((n) => repoView(store.repository(n, registryId))) };
      }
      // Listing every repository is evaluated on the wildcard repository ARN: a policy scoped to one
      // repository may describe it by name but not list the registry.
      await ctx.authorize(action('DescribeRepositories'), api.arn(ctx, registryId, '*'));
      const all =
        registryId === undefined || registryId === store.registryId ? [...store.repositories.values()] : [];
      const { page, nextToken } = input.paginate(all, body, 100, 1000);
      return { repositories: page.map(repoView), ...(nextToken ? { nextToken } : {}) };
    },

    async DeleteRepository(ctx, body) {
      const name = input.repositoryName(body);
      const registryId = input.registryId(body);
      const force = input.ecr(body).bool('force') ?? false;
      await ctx.authorize(action('DeleteRepository'), api.arn(ctx, registryId, name));
      const deleted = api.store(ctx).deleteRepository(name, force, registryId);
      return { repository: repoView(deleted) };
    },

    async InitiateLayerUpload(ctx, body) {
      const { store, repo: r } = await repo(ctx, body, 'InitiateLayerUpload');
      const upload = store.initiateUpload(r);
      return { uploadId: upload.id, partSize: PART_SIZE };
    },

    async UploadLayerPart(ctx, body) {
      const uploadId = input.ecr(body).str('uploadId', { required: true });
      const first = input
        .ecr(body)
        .int('partFirstByte', { required: true, min: 0, max: Number.MAX_SAFE_INTEGER });
      const last = input
        .ecr(body)
        .int('partLastByte', { required: true, min: 0, max: Number.MAX_SAFE_INTEGER });
      const blob = input.ecr(body).str('layerPartBlob', { required: true, max: 64 * 1024 * 1024 });
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(blob))
        throw ecrErrors.invalidMember('layerPartBlob', 'Member must be base64-encoded');
      const { store, repo: r } = await repo(ctx, body, 'UploadLayerPart');
      const upload = store.upload(r, uploadId);
      store.uploadPart(r, upload, first, last, Buffer.from(blob, 'base64'), true);
      return {
        registryId: r.registryId,
        repositoryName: r.name,
        uploadId,
        lastByteReceived: upload.received - 1,
      };
    },

    async CompleteLayerUpload(ctx, body) {
      const uploadId = input.ecr(body).str('uploadId', { required: true });
      const digests = input.ecr(body).strList('layerDigests', { min: 1, max: 100, required: true }) ?? [];
      for (const d of digests)
        if (!isDigest(d))
          throw ecrErrors.invalidMember(
            'layerDigests',
            `'${d}' must satisfy regular expression '[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+'`,
          );
      const { store, repo: r } = await repo(ctx, body, 'CompleteLayerUpload');
      const blob = store.completeUpload(r, store.upload(r, uploadId), digests);
      return { registryId: r.registryId, repositoryName: r.name, uploadId, layerDigest: blob.digest };
    },

    async BatchCheckLayerAvailability(ctx, body) {
      const digests = input.ecr(body).strList('layerDigests', { min: 1, max: 100, required: true }) ?? [];
      const { repo: r } = await repo(ctx, body, 'BatchCheckLayerAvailability');
      const layers: Record<string, unknown>[] = [];
      const failures: Record<string, unknown>[] = [];
      for (const d of digests) {
        if (d === '')
          failures.push({
            layerDigest: d,
            failureCode: 'MissingLayerDigest',
            failureReason: 'The layer digest is missing',
          });
        else if (!isDigest(d))
          failures.push({
            layerDigest: d,
            failureCode: 'InvalidLayerDigest',
            failureReason: 'Invalid layer digest',
          });
        else {
          // A layer that is not there is UNAVAILABLE, not a failure: ECR's own pusher treats failures as errors
          // and reads the availability of every digest it checks (`amazon-ecr-containerd-resolver:ecr/pusher.go`).
          const blob = r.blobs.get(d);
          layers.push(
            blob
              ? {
                  layerDigest: d,
                  layerAvailability: 'AVAILABLE',
                  layerSize: blob.size,
                  ...(blob.mediaType ? { mediaType: blob.mediaType } : {}),
                }
              : { layerDigest: d, layerAvailability: 'UNAVAILABLE' },
          );
        }
      }
      return { layers, failures };
    },

    async PutImage(ctx, body) {
      const manifest = input.ecr(body).str('imageManifest', { required: true, max: 8 * 1024 * 1024 });
      const mediaType = input.ecr(body).str('imageManifestMediaType');
      const tag = input.ecr(body).str('imageTag', { max: 300 });
      const digest = input.ecr(body).str('imageDigest');
      const { store, repo: r } = await repo(ctx, body, 'PutImage');
      const { image } = store.putImage(r, { manifest, mediaType, tag, digest }, 'api', true);
      return { image: imageView(r, image, tag) };
    },

    async BatchGetImage(ctx, body) {
      const ids = input.imageIds(body, 100, true) ?? [];
      const accepted = input.ecr(body).strList('acceptedMediaTypes', { min: 1, max: 100 });
      const { store, repo: r } = await repo(ctx, body, 'BatchGetImage');
      const images: Record<string, unknown>[] = [];
      const failures: ImageFailure[] = [];
      const seen = new Set<string>();
      for (const id of ids) {
        const key = `${id.imageDigest ?? ''}\u0000${id.imageTag ?? ''}`;
        if (seen.has(key)) continue;
        seen.add(key);
        const found = store.resolve(r, id);
        if (isFailure(found)) {
          failures.push(found);
          continue;
        }
        // An archived (or still activating) image cannot be pulled: a 404, ImageNotFound here (archive.ts).
        if (statusOf(found, store.now()) !== 'ACTIVE') {
          failures.push({
            imageId: cleanId(id),
            failureCode: 'ImageNotFound',
            failureReason: REASONS.notFound,
          });
          continue;
        }
        // ECR converts formats only when pulling by tag and never by digest
        // (https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-manifest-formats.html); what it does
        // when the stored type is not accepted is not documented. The sandbox never converts: it answers an
        // ImageNotFound failure that names the type, so a caller that forgets the index types fails visibly
        // here instead of in production. Without acceptedMediaTypes the stored manifest is returned as is.
        if (accepted && !accepted.includes(found.mediaType)) {
          failures.push({
            imageId: cleanId(id),
            failureCode: 'ImageNotFound',
            failureReason: `Requested image not found: its manifest media type '${found.mediaType}' is not in acceptedMediaTypes`,
          });
          continue;
        }
        store.recordPull(found);
        images.push(imageView(r, found, id.imageTag));
      }
      return { images, failures };
    },

    async BatchDeleteImage(ctx, body) {
      const ids = input.imageIds(body, 100, true) ?? [];
      const { store, repo: r } = await repo(ctx, body, 'BatchDeleteImage');
      const deleted: ImageId[] = [];
      const failures: ImageFailure[] = [];
      for (const id of ids) {
        const result = store.deleteImage(r, id, api.service === 'ecr');
        if (Array.isArray(result)) deleted.push(...result);
        else failures.push(result);
      }
      return { imageIds: deleted, failures };
    },

    async DescribeImages(ctx, body) {
      const ids = input.imageIds(body, 100, false);
      const filter = input.ecr(body).object('filter');
      const tagStatus = filter?.oneOf('tagStatus', TAG_STATUSES) ?? 'ANY';
      const imageStatus = filter?.oneOf('imageStatus', IMAGE_STATUS_FILTERS) ?? 'ACTIVE';
      if (ids && (body['maxResults'] !== undefined || body['nextToken'] !== undefined)) {
        throw ecrErrors.invalidMember('imageIds', 'imageIds cannot be used with maxResults or nextToken');
      }
      const { store, repo: r } = await repo(ctx, body, 'DescribeImages');
      if (ids) {
        const details: Record<string, unknown>[] = [];
        const listed = new Set<string>();
        for (const id of ids) {
          const found = store.resolve(r, id);
          if (isFailure(found)) {
            if (found.failureCode === 'ImageNotFound' || found.failureCode === 'ImageTagDoesNotMatchDigest')
              throw ecrErrors.imageNotFound(id, r.name, r.registryId);
            throw ecrErrors.invalidParameter(found.failureReason);
          }
          if (listed.has(found.digest)) continue;
          listed.add(found.digest);
          details.push(detailView(r, found, store.now()));
        }
        return { imageDetails: details };
      }
      // ACTIVE images only unless the filter asks for others (archive.ts); described by id, any status.
      const now = store.now();
      const all = store.images(r, tagStatus).filter((i) => matchesStatus(i, imageStatus, now));
      const { page, nextToken } = input.paginate(all, body, 100, 1000);
      return {
        imageDetails: page.map((i) => detailView(r, i, now)),
        ...(nextToken ? { nextToken } : {}),
      };
    },
  };
}

/** Private ECR: the shared image operations plus ListImages, GetDownloadUrlForLayer and GetAuthorizationToken. */
export function ecrHandlers(world: World, backend: EcrBackend): Record<string, JsonOperation> {
  const api: ImageApi = {
    service: 'ecr',
    store: (ctx) => backend.store(ctx.region),
    arn: (ctx, registryId, name) =>
      `arn:${world.partition}:ecr:${ctx.region}:${registryId ?? world.accountId}:repository/${name}`,
  };
  const shared = imageApiHandlers(api);
  return {
    ...shared,

    async ListImages(ctx, body) {
      const name = input.repositoryName(body);
      const registryId = input.registryId(body);
      const filter = input.ecr(body).object('filter');
      const tagStatus = filter?.oneOf('tagStatus', TAG_STATUSES) ?? 'ANY';
      const imageStatus = filter?.oneOf('imageStatus', IMAGE_STATUS_FILTERS) ?? 'ACTIVE';
      await ctx.authorize('ecr:ListImages', api.arn(ctx, registryId, name));
      const store = backend.store(ctx.region);
      const r = store.repository(name, registryId);
      const ids = store
        .imageIds(r, tagStatus)
        .filter((id) =>
          matchesStatus(r.images.get(id.imageDigest ?? '') as ImageRecord, imageStatus, store.now()),
        );
      const { page, nextToken } = input.paginate(ids, body, 100, 1000);
      return { imageIds: page, ...(nextToken ? { nextToken } : {}) };
    },

    UpdateImageStorageClass: updateImageStorageClassHandler(world, backend, api),

    async GetDownloadUrlForLayer(ctx, body) {
      const name = input.repositoryName(body);
      const registryId = input.registryId(body);
      const digest = input.ecr(body).str('layerDigest', { required: true });
      if (!isDigest(digest))
        throw ecrErrors.invalidMember(
          'layerDigest',
          "must satisfy regular expression '[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+'",
        );
      await ctx.authorize('ecr:GetDownloadUrlForLayer', api.arn(ctx, registryId, name));
      const store = backend.store(ctx.region);
      const r = store.repository(name, registryId);
      store.downloadableBlob(r, digest);
      // Signed with the sandbox's own key and the real time: the S3 front door checks presigned URLs against
      // the machine clock, as it checks every signature.
      const downloadUrl = await presignGet(
        world.endpoints.aws,
        `/${layerBucket(world.accountId, ctx.region)}/${name}/${digest}`,
        ctx.region,
        world.serviceKey.accessKeyId,
        world.serviceKey.secretAccessKey,
        LAYER_URL_EXPIRY_SECONDS,
        new Date(),
      );
      return { downloadUrl, layerDigest: digest };
    },

    /**
     * `proxyEndpoint` is the sandbox's registry listener (`http://127.0.0.1:<port>`), not the real-looking
     * `https://<account>.dkr.ecr.<region>.amazonaws.com`: it is the address `docker login`/`skopeo` need, and
     * nothing can reach the real-looking host here. `expiresAt` is 12 h ahead on the virtual clock.
     */
    async GetAuthorizationToken(ctx, body) {
      const ids = input.ecr(body).strList('registryIds', { min: 1, max: 10 });
      for (const id of ids ?? [])
        if (!/^[0-9]{12}$/.test(id))
          throw ecrErrors.invalidMember('registryIds', "Member must satisfy regular expression '[0-9]{12}'");
      await ctx.authorize('ecr:GetAuthorizationToken', '*');
      const token = backend.tokens.issue(ctx.principal, ctx.region, 'ecr');
      const data = {
        authorizationToken: encodeAuthorizationToken(token.password),
        expiresAt: new Date(token.expiresAt),
        proxyEndpoint: world.endpoints.registry,
      };
      // Deprecated registryIds return one entry per registry, each good for every registry the caller may use.
      return { authorizationData: (ids ?? [world.accountId]).map(() => ({ ...data })) };
    },
  };
}
