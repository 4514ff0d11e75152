import * as ids from '../../ids.ts';
import { restoreByPush } from './archive.ts';
import { ecrErrors } from './errors.ts';
import {
  digestOf,
  ECR_DIGEST_PATTERN,
  inspectManifest,
  isIndexType,
  MAX_MANIFEST_BYTES,
  sha256,
} from './manifest.ts';
import {
  type BlobRecord,
  type CreateRepositoryInput,
  cleanId,
  type ImageFailure,
  type ImageId,
  type ImageRecord,
  isTagMutable,
  isValidTag,
  MIN_PART_BYTES,
  type PushSource,
  type PutImageInput,
  type PutImageResult,
  REASONS,
  type RepositoryRecord,
  type RepositorySnapshot,
  type StoreScope,
  type UploadRecord,
} from './records.ts';

/**
 * The storage behind one registry — an ECR private registry in one region, or the account's ECR Public
 * registry: repositories, their manifests (exact bytes, content-addressed), tags, layer blobs and layer
 * uploads, with ECR's rules (https://docs.aws.amazon.com/AmazonECR/latest/APIReference/Welcome.html). The JSON API,
 * the OCI registry listener and the control plane's seed all store images through {@link ImageStore.putImage}, so
 * one set of rules decides what a push may do and every stored manifest is announced once.
 */

export class ImageStore {
  readonly repositories = new Map<string, RepositoryRecord>();
  readonly #scope: StoreScope;

  public constructor(scope: StoreScope) {
    this.#scope = scope;
  }

  public get registryId(): string {
    return this.#scope.registryId;
  }

  // ---- repositories ----

  public createRepository(input: CreateRepositoryInput): RepositoryRecord {
    if (this.repositories.has(input.name))
      throw ecrErrors.repositoryAlreadyExists(input.name, this.registryId);
    const repo: RepositoryRecord = {
      name: input.name,
      arn: this.#scope.arnOf(input.name),
      uri: this.#scope.uriOf(input.name),
      registryId: this.registryId,
      createdAt: input.createdAt ?? this.#scope.now(),
      imageTagMutability: input.imageTagMutability ?? 'MUTABLE',
      exclusionFilters: input.exclusionFilters ?? [],
      scanOnPush: input.scanOnPush ?? false,
      encryption: input.encryption ?? { encryptionType: 'AES256' },
      tags: input.tags ?? [],
      images: new Map(),
      tagIndex: new Map(),
      blobs: new Map(),
      uploads: new Map(),
      parents: new Map(),
      blobRefs: new Map(),
    };
    this.repositories.set(repo.name, repo);
    return repo;
  }

  public repository(name: string, registryId?: string): RepositoryRecord {
    const repo =
      registryId === undefined || registryId === this.registryId ? this.repositories.get(name) : undefined;
    if (!repo) throw ecrErrors.repositoryNotFound(name, registryId ?? this.registryId);
    return repo;
  }

  public deleteRepository(name: string, force: boolean, registryId?: string): RepositoryRecord {
    const repo = this.repository(name, registryId);
    if (repo.images.size > 0 && !force) throw ecrErrors.repositoryNotEmpty(name, repo.registryId);
    this.repositories.delete(name);
    return repo;
  }

  // ---- layers ----

  public initiateUpload(repo: RepositoryRecord): UploadRecord {
    const upload: UploadRecord = { id: ids.uuid(), parts: [], received: 0, startedAt: this.#scope.now() };
    repo.uploads.set(upload.id, upload);
    return upload;
  }

  public upload(repo: RepositoryRecord, uploadId: string): UploadRecord {
    const upload = repo.uploads.get(uploadId);
    if (!upload) throw ecrErrors.uploadNotFound(uploadId, repo.name, repo.registryId);
    return upload;
  }

  /**
   * Appends a part. Parts must be consecutive (`partFirstByte` is the next byte expected) and `partLastByte`
   * is inclusive, as ECR's own client sends it (`amazon-ecr-containerd-resolver:ecr/layer_writer.go`).
   * `enforceMinimum` applies ECR's 5 MiB minimum to every part but the last: a part after a small one is
   * refused. The registry protocol's PATCH chunks have no minimum.
   */
  public uploadPart(
    repo: RepositoryRecord,
    upload: UploadRecord,
    first: number,
    last: number,
    bytes: Buffer,
    enforceMinimum: boolean,
  ): void {
    const at = {
      registryId: repo.registryId,
      repositoryName: repo.name,
      uploadId: upload.id,
      lastValidByteReceived: upload.received - 1,
    };
    if (first !== upload.received) {
      throw ecrErrors.invalidLayerPart(
        `partFirstByte ${first} is not ${upload.received}, the byte after the last one received`,
        at,
      );
    }
    if (last - first + 1 !== bytes.length) {
      throw ecrErrors.invalidLayerPart(
        `the part has ${bytes.length} bytes but partFirstByte..partLastByte spans ${last - first + 1}`,
        at,
      );
    }
    const previous = upload.parts.at(-1);
    if (enforceMinimum && previous !== undefined && previous.length < MIN_PART_BYTES)
      throw ecrErrors.layerPartTooSmall();
    upload.parts.push(bytes);
    upload.received += bytes.length;
  }

  /** Finishes an upload: the bytes must hash to one of `digests`; the upload is consumed either way. */
  public completeUpload(
    repo: RepositoryRecord,
    upload: UploadRecord,
    digests: readonly string[],
  ): BlobRecord {
    repo.uploads.delete(upload.id);
    if (upload.received === 0) throw ecrErrors.emptyUpload(upload.id);
    const data = Buffer.concat(upload.parts);
    const expected = digests[0] ?? '';
    const computed = digestOf(expected, data);
    if (!digests.includes(computed)) throw ecrErrors.invalidLayer(expected, computed);
    if (repo.blobs.has(computed)) throw ecrErrors.layerAlreadyExists(computed);
    return this.putBlob(repo, computed, data);
  }

  /** Stores a blob known to hash to `digest` (callers verify; seed and the registry's monolithic upload). */
  public putBlob(repo: RepositoryRecord, digest: string, data: Buffer, mediaType?: string): BlobRecord {
    const existing = repo.blobs.get(digest);
    if (existing) return existing;
    const blob: BlobRecord = { digest, size: data.length, data, mediaType };
    repo.blobs.set(digest, blob);
    return blob;
  }

  /** A blob a client may download: it must exist and belong to an image (`LayerInaccessibleException`). */
  public downloadableBlob(repo: RepositoryRecord, digest: string): BlobRecord {
    const blob = repo.blobs.get(digest);
    if (!blob) throw ecrErrors.layerNotFound(digest, repo.name, repo.registryId);
    if ((repo.blobRefs.get(digest) ?? 0) === 0) throw ecrErrors.layerInaccessible(digest);
    return blob;
  }

  // ---- images ----

  /**
   * Stores a manifest the way ECR's PutImage does
   * (https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_PutImage.html): parse it, verify the digest,
   * require every blob it references and every child of an index, apply tag immutability, then store it and
   * announce it. Children are checked to exist, so a client necessarily pushes them before the index, and their
   * events come first (as buildx pushes them, docker/buildx#940).
   */
  public putImage(
    repo: RepositoryRecord,
    input: PutImageInput,
    source: PushSource,
    emit: boolean,
  ): PutImageResult {
    if (Buffer.byteLength(input.manifest) > MAX_MANIFEST_BYTES) {
      throw ecrErrors.invalidMember(
        'imageManifest',
        `Member must have length less than or equal to ${MAX_MANIFEST_BYTES}`,
      );
    }
    const parsed = inspectManifest(input.manifest, input.mediaType);
    if (!parsed.ok) {
      const { kind, detail } = parsed.problem;
      // The JSON-syntax wording is ECR's own; the others follow its `Invalid parameter at` form.
      if (kind === 'json') throw ecrErrors.invalidMember('ImageManifest', 'Invalid JSON syntax');
      throw ecrErrors.invalidMember(
        kind === 'media-type' ? 'imageManifestMediaType' : 'ImageManifest',
        detail,
      );
    }
    const info = parsed.info;
    const digest = sha256(input.manifest);
    if (input.digest !== undefined && input.digest !== digest)
      throw ecrErrors.imageDigestDoesNotMatch(input.digest, digest);
    if (input.tag !== undefined && !isValidTag(input.tag)) {
      throw ecrErrors.invalidMember('imageTag', 'Member must have length between 1 and 300');
    }
    const missingBlobs = info.blobs.filter((d) => !repo.blobs.has(d));
    if (missingBlobs.length > 0) throw ecrErrors.layersNotFound(missingBlobs, repo.name, repo.registryId);
    const missingChildren = info.children.filter((d) => !repo.images.has(d));
    if (missingChildren.length > 0)
      throw ecrErrors.referencedImagesNotFound(missingChildren, repo.name, repo.registryId);

    const existing = repo.images.get(digest);
    const tagged = input.tag === undefined ? undefined : repo.tagIndex.get(input.tag);
    // Pushing an archived image again restores it (archive.ts): that push is new.
    const restored = existing !== undefined && restoreByPush(existing, this.#scope.now());
    const nothingNew = existing !== undefined && !restored && (input.tag === undefined || tagged === digest);
    if (nothingNew) {
      if (source === 'api') throw ecrErrors.imageAlreadyExists(digest, input.tag, repo.name, repo.registryId);
      return { image: existing, changed: false };
    }
    if (input.tag !== undefined && tagged !== undefined && !isTagMutable(repo, input.tag)) {
      throw ecrErrors.imageTagAlreadyExists(input.tag, repo.name);
    }

    let image = existing;
    if (!image) {
      image = {
        digest,
        manifest: input.manifest,
        mediaType: info.mediaType,
        artifactMediaType: info.artifactMediaType,
        subject: info.subject,
        blobs: info.blobs,
        children: info.children,
        sizeInBytes: this.#sizeOf(repo, info.blobs, info.children),
        pushedAt: this.#scope.now(),
        lastPulledAt: undefined,
        tags: [],
      };
      this.#link(repo, image);
      for (const [d, type] of Object.entries(info.blobTypes)) {
        const blob = repo.blobs.get(d);
        if (blob && blob.mediaType === undefined) blob.mediaType = type;
      }
    }
    if (input.tag !== undefined) this.#tag(repo, image, input.tag);
    if (emit) this.#announce('PUSH', repo, image, input.tag ?? '');
    return { image, changed: true };
  }

  /** The image an id names, or the failure BatchGetImage/BatchDeleteImage report for it. */
  public resolve(repo: RepositoryRecord, id: ImageId): ImageRecord | ImageFailure {
    const failure = (failureCode: string, failureReason: string): ImageFailure => ({
      imageId: cleanId(id),
      failureCode,
      failureReason,
    });
    if (id.imageDigest === undefined && id.imageTag === undefined)
      return failure('MissingDigestAndTag', REASONS.missingDigestAndTag);
    if (id.imageDigest !== undefined && !ECR_DIGEST_PATTERN.test(id.imageDigest))
      return failure('InvalidImageDigest', REASONS.invalidDigest);
    if (id.imageTag !== undefined && !isValidTag(id.imageTag))
      return failure('InvalidImageTag', REASONS.invalidTag);
    if (id.imageDigest !== undefined) {
      const image = repo.images.get(id.imageDigest);
      if (!image) return failure('ImageNotFound', REASONS.notFound);
      if (id.imageTag !== undefined && !image.tags.includes(id.imageTag)) {
        return repo.tagIndex.has(id.imageTag)
          ? failure('ImageTagDoesNotMatchDigest', REASONS.tagDoesNotMatchDigest)
          : failure('ImageNotFound', REASONS.notFound);
      }
      return image;
    }
    const digest = repo.tagIndex.get(id.imageTag ?? '');
    const image = digest === undefined ? undefined : repo.images.get(digest);
    return image ?? failure('ImageNotFound', REASONS.notFound);
  }

  /**
   * BatchDeleteImage for one id: by digest the image and all its tags go; by tag only the tag goes, and the
   * image with it when it was the last (ECR: "When you remove the last tag from an image, the image is
   * deleted"). An image an index still references cannot be deleted (`ImageReferencedByManifestList`, with
   * the live service's reason text).
   */
  public deleteImage(repo: RepositoryRecord, id: ImageId, emit: boolean): ImageId[] | ImageFailure {
    const found = this.resolve(repo, id);
    if (!('digest' in found)) return found;
    const image = found;
    const untagOnly = id.imageTag !== undefined && image.tags.length > 1;
    if (untagOnly) {
      const tag = id.imageTag as string;
      image.tags = image.tags.filter((t) => t !== tag);
      repo.tagIndex.delete(tag);
      if (emit) this.#announce('DELETE', repo, image, tag);
      return [{ imageDigest: image.digest, imageTag: tag }];
    }
    const parents = [...(repo.parents.get(image.digest) ?? [])];
    if (parents.length > 0) {
      return {
        imageId: cleanId(id),
        failureCode: 'ImageReferencedByManifestList',
        failureReason: REASONS.referencedByList(parents),
      };
    }
    return this.removeImage(repo, image, emit);
  }

  /** Removes an image and its tags without the index check (a lifecycle expiry does this too). */
  public removeImage(repo: RepositoryRecord, image: ImageRecord, emit: boolean): ImageId[] {
    const removed: ImageId[] =
      image.tags.length > 0
        ? image.tags.map((t) => ({ imageDigest: image.digest, imageTag: t }))
        : [{ imageDigest: image.digest }];
    for (const t of image.tags) repo.tagIndex.delete(t);
    repo.images.delete(image.digest);
    this.#unlink(repo, image);
    if (emit) for (const r of removed) this.#announce('DELETE', repo, image, r.imageTag ?? '');
    return removed;
  }

  /** The virtual clock, in epoch milliseconds (an image's archive status depends on it). */
  public now(): number {
    return this.#scope.now();
  }

  public recordPull(image: ImageRecord): void {
    image.lastPulledAt = this.#scope.now();
  }

  /** `(digest, tag)` pairs as ListImages returns them: one per tag, one for an untagged image. */
  public imageIds(repo: RepositoryRecord, tagStatus: 'TAGGED' | 'UNTAGGED' | 'ANY'): ImageId[] {
    const out: ImageId[] = [];
    for (const image of repo.images.values()) {
      if (image.tags.length === 0) {
        if (tagStatus !== 'TAGGED') out.push({ imageDigest: image.digest });
      } else if (tagStatus !== 'UNTAGGED') {
        for (const t of image.tags) out.push({ imageDigest: image.digest, imageTag: t });
      }
    }
    return out;
  }

  public images(repo: RepositoryRecord, tagStatus: 'TAGGED' | 'UNTAGGED' | 'ANY'): ImageRecord[] {
    if (tagStatus === 'ANY') return [...repo.images.values()];
    const tagged = tagStatus === 'TAGGED';
    return [...repo.images.values()].filter((i) => i.tags.length > 0 === tagged);
  }

  // ---- persistence ----

  public snapshot(): RepositorySnapshot[] {
    return [...this.repositories.values()].map((r) => ({
      name: r.name,
      createdAt: r.createdAt,
      imageTagMutability: r.imageTagMutability,
      exclusionFilters: r.exclusionFilters,
      scanOnPush: r.scanOnPush,
      encryption: r.encryption,
      tags: r.tags,
      blobs: [...r.blobs.values()].map((b) => ({
        digest: b.digest,
        mediaType: b.mediaType,
        data: b.data.toString('base64'),
      })),
      images: [...r.images.values()].map((i) => ({
        digest: i.digest,
        manifest: i.manifest,
        mediaType: i.mediaType,
        pushedAt: i.pushedAt,
        lastPulledAt: i.lastPulledAt,
        tags: i.tags,
        ...(i.archive ? { archive: { ...i.archive } } : {}),
      })),
    }));
  }

  /**
   * Rebuilds repositories from a snapshot. Images are re-read from their manifests in push order, so the
   * derived indexes (parents, blob references, sizes) are recomputed rather than trusted.
   */
  public restore(data: readonly RepositorySnapshot[]): void {
    this.repositories.clear();
    for (const r of data) {
      const repo = this.createRepository({
        name: r.name,
        imageTagMutability: r.imageTagMutability,
        exclusionFilters: r.exclusionFilters,
        scanOnPush: r.scanOnPush,
        encryption: r.encryption,
        tags: r.tags,
        createdAt: r.createdAt,
      });
      for (const b of r.blobs) this.putBlob(repo, b.digest, Buffer.from(b.data, 'base64'), b.mediaType);
      for (const i of r.images) {
        const parsed = inspectManifest(i.manifest, i.mediaType);
        if (!parsed.ok) continue;
        const image: ImageRecord = {
          digest: i.digest,
          manifest: i.manifest,
          mediaType: parsed.info.mediaType,
          artifactMediaType: parsed.info.artifactMediaType,
          subject: parsed.info.subject,
          blobs: parsed.info.blobs,
          children: parsed.info.children,
          sizeInBytes: this.#sizeOf(repo, parsed.info.blobs, parsed.info.children),
          pushedAt: i.pushedAt,
          lastPulledAt: i.lastPulledAt ?? undefined,
          tags: [],
          ...(i.archive ? { archive: { ...i.archive } } : {}),
        };
        this.#link(repo, image);
        for (const t of i.tags) this.#tag(repo, image, t);
      }
    }
  }

  // ---- internals ----

  /**
   * `imageSizeInBytes`: a manifest's config and layers; an index's largest child ("If the image is a
   * manifest list, this will be the max size of all manifests in the list",
   * https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_ImageDetail.html).
   */
  #sizeOf(repo: RepositoryRecord, blobs: readonly string[], children: readonly string[]): number {
    if (children.length > 0) return Math.max(0, ...children.map((d) => repo.images.get(d)?.sizeInBytes ?? 0));
    return blobs.reduce((sum, d) => sum + (repo.blobs.get(d)?.size ?? 0), 0);
  }

  #link(repo: RepositoryRecord, image: ImageRecord): void {
    repo.images.set(image.digest, image);
    for (const d of image.blobs) repo.blobRefs.set(d, (repo.blobRefs.get(d) ?? 0) + 1);
    for (const c of image.children) {
      const set = repo.parents.get(c) ?? new Set<string>();
      set.add(image.digest);
      repo.parents.set(c, set);
    }
  }

  #unlink(repo: RepositoryRecord, image: ImageRecord): void {
    for (const d of image.blobs) {
      const n = (repo.blobRefs.get(d) ?? 1) - 1;
      if (n > 0) repo.blobRefs.set(d, n);
      else repo.blobRefs.delete(d);
    }
    for (const c of image.children) {
      const set = repo.parents.get(c);
      set?.delete(image.digest);
      if (set?.size === 0) repo.parents.delete(c);
    }
    // A child removed directly (lifecycle expiry) leaves its parents pointing at nothing: forget the edge.
    repo.parents.delete(image.digest);
  }

  /** Points `tag` at `image`, taking it from the image that held it (which stays, untagged if it was its last). */
  #tag(repo: RepositoryRecord, image: ImageRecord, tag: string): void {
    const previous = repo.tagIndex.get(tag);
    if (previous === image.digest) return;
    if (previous !== undefined) {
      const old = repo.images.get(previous);
      if (old) old.tags = old.tags.filter((t) => t !== tag);
    }
    repo.tagIndex.set(tag, image.digest);
    image.tags.push(tag);
  }

  #announce(action: 'PUSH' | 'DELETE', repo: RepositoryRecord, image: ImageRecord, tag: string): void {
    this.#scope.onImageAction?.({
      action,
      repository: repo.name,
      digest: image.digest,
      tag,
      manifestMediaType: image.mediaType,
      artifactMediaType: isIndexType(image.mediaType) ? undefined : image.artifactMediaType,
    });
  }
}
