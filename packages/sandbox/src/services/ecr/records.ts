import type { ArchiveState } from './archive.ts';
/**
 * What an ECR registry stores, as records (repositories, images, blobs, uploads, the actions it announces),
 * and ECR's rules on tags (immutability with exclusion filters, length) and its failure reasons. The
 * {@link ImageStore} of `store.ts` keeps them.
 */

export type TagMutability = 'MUTABLE' | 'IMMUTABLE' | 'MUTABLE_WITH_EXCLUSION' | 'IMMUTABLE_WITH_EXCLUSION';
export const TAG_MUTABILITIES: readonly TagMutability[] = [
  'MUTABLE',
  'IMMUTABLE',
  'MUTABLE_WITH_EXCLUSION',
  'IMMUTABLE_WITH_EXCLUSION',
];

export interface ExclusionFilter {
  filterType: 'WILDCARD';
  filter: string;
}

export interface BlobRecord {
  readonly digest: string;
  readonly size: number;
  readonly data: Buffer;
  mediaType: string | undefined;
}

export interface ImageRecord {
  readonly digest: string;
  /** The manifest exactly as pushed. */
  readonly manifest: string;
  readonly mediaType: string;
  readonly artifactMediaType: string | undefined;
  readonly subject: string | undefined;
  readonly blobs: readonly string[];
  readonly children: readonly string[];
  readonly sizeInBytes: number;
  /** Epoch milliseconds on the virtual clock. */
  readonly pushedAt: number;
  lastPulledAt: number | undefined;
  /** Tags in the order they were given to this image. */
  tags: string[];
  /** Set once the image is archived (`archive.ts`); absent: it never was. */
  archive?: ArchiveState | undefined;
}

export interface UploadRecord {
  readonly id: string;
  readonly parts: Buffer[];
  received: number;
  readonly startedAt: number;
}

export interface RepositoryRecord {
  readonly name: string;
  readonly arn: string;
  readonly uri: string;
  readonly registryId: string;
  readonly createdAt: number;
  imageTagMutability: TagMutability;
  exclusionFilters: ExclusionFilter[];
  scanOnPush: boolean;
  encryption: { encryptionType: string; kmsKey?: string | undefined };
  tags: { Key: string; Value: string }[];
  readonly images: Map<string, ImageRecord>;
  readonly tagIndex: Map<string, string>;
  readonly blobs: Map<string, BlobRecord>;
  readonly uploads: Map<string, UploadRecord>;
  /** Child manifest digest → digests of the indexes that reference it. */
  readonly parents: Map<string, Set<string>>;
  /** Blob digest → number of stored manifests that reference it. */
  readonly blobRefs: Map<string, number>;
}

/**
 * One `ECR Image Action` worth of facts
 * (https://docs.aws.amazon.com/AmazonECR/latest/userguide/ecr-eventbridge.html).
 */
export interface ImageAction {
  readonly action: 'PUSH' | 'DELETE';
  readonly repository: string;
  readonly digest: string;
  /** `""` for untagged manifests, as the real events say. */
  readonly tag: string;
  readonly manifestMediaType: string;
  readonly artifactMediaType: string | undefined;
}

export interface StoreScope {
  readonly registryId: string;
  arnOf(name: string): string;
  uriOf(name: string): string;
  now(): number;
  /** Called for every stored or deleted manifest when the caller asked for events. */
  onImageAction?(action: ImageAction): void;
}

export interface ImageId {
  imageDigest?: string | undefined;
  imageTag?: string | undefined;
}

export interface ImageFailure {
  imageId: ImageId;
  failureCode: string;
  failureReason: string;
}

export interface PutImageInput {
  manifest: string;
  mediaType?: string | undefined;
  tag?: string | undefined;
  digest?: string | undefined;
}

/**
 * Where a push comes from. The registry protocol is idempotent (a client re-pushing what is there gets 201),
 * the PutImage API is not: AWS answers `ImageAlreadyExistsException` "there were no changes to the manifest or
 * image tag after the last push" (SDK description).
 */
export type PushSource = 'api' | 'registry' | 'seed';

export interface PutImageResult {
  readonly image: ImageRecord;
  /** False when nothing changed (an idempotent registry re-push). */
  readonly changed: boolean;
}

/** ECR's minimum size of every layer part but the last (`LayerPartTooSmallException`). */
export const MIN_PART_BYTES = 5 * 1024 * 1024;
/** What InitiateLayerUpload answers as `partSize` (the part size ECR's own examples and clients use). */
export const PART_SIZE = 10 * 1024 * 1024;

/** Failure reasons as moto emulates them (`getmoto/moto:moto/ecr/models.py`) and the live registry prints them. */
export const REASONS = {
  notFound: 'Requested image not found',
  missingDigestAndTag: 'Invalid request parameters: both tag and digest cannot be null',
  invalidDigest:
    "Invalid request parameters: image digest should satisfy the regex '[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+'",
  invalidTag: 'Invalid request parameters: image tag should have between 1 and 300 characters',
  tagDoesNotMatchDigest: 'Invalid request parameters: the image tag does not reference the image digest',
  referencedByList: (parents: readonly string[]) =>
    `Requested image referenced by manifest list: [${parents.join(', ')}]`,
} as const;

function wildcard(pattern: string): RegExp {
  return new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
}

/** Whether `tag` may be moved to another image in `repo` (tag immutability and its exclusion filters). */
export function isTagMutable(repo: RepositoryRecord, tag: string): boolean {
  const excluded = () => repo.exclusionFilters.some((f) => wildcard(f.filter).test(tag));
  switch (repo.imageTagMutability) {
    case 'MUTABLE':
      return true;
    case 'IMMUTABLE':
      return false;
    case 'MUTABLE_WITH_EXCLUSION':
      return !excluded();
    case 'IMMUTABLE_WITH_EXCLUSION':
      return excluded();
  }
}

export function isValidTag(tag: unknown): tag is string {
  return typeof tag === 'string' && tag.length >= 1 && tag.length <= 300;
}

export interface CreateRepositoryInput {
  name: string;
  imageTagMutability?: TagMutability | undefined;
  exclusionFilters?: ExclusionFilter[] | undefined;
  scanOnPush?: boolean | undefined;
  encryption?: { encryptionType: string; kmsKey?: string | undefined } | undefined;
  tags?: { Key: string; Value: string }[] | undefined;
  /** Restoring a snapshot keeps the original creation time. */
  createdAt?: number | undefined;
}

export interface RepositorySnapshot {
  name: string;
  createdAt: number;
  imageTagMutability: TagMutability;
  exclusionFilters: ExclusionFilter[];
  scanOnPush: boolean;
  encryption: { encryptionType: string; kmsKey?: string | undefined };
  tags: { Key: string; Value: string }[];
  blobs: { digest: string; mediaType: string | undefined; data: string }[];
  images: {
    digest: string;
    manifest: string;
    mediaType: string;
    pushedAt: number;
    lastPulledAt: number | undefined;
    tags: string[];
    archive?: ArchiveState | undefined;
  }[];
}

/** An id as the caller gave it, without absent members (failures echo the request's id). */
export function cleanId(id: ImageId): ImageId {
  return {
    ...(id.imageDigest !== undefined ? { imageDigest: id.imageDigest } : {}),
    ...(id.imageTag !== undefined ? { imageTag: id.imageTag } : {}),
  };
}
