import { ServiceError } from '../../errors.ts';
import type { JsonOperation } from '../../server/aws.ts';
import type { World } from '../../world.ts';
import type { EcrBackend } from './backend.ts';
import { ecrErrors } from './errors.ts';
import type { ImageApi } from './handlers.ts';
import * as input from './input.ts';
import type { ImageId, ImageRecord } from './records.ts';

/**
 * ECR's archival storage class (https://docs.aws.amazon.com/AmazonECR/latest/userguide/archive-image.html):
 * an archived image "cannot be pulled. Requests to pull the archived image will fail with a 404 error", but "it
 * can still be described using the describe-images command, or listed using the list-images command. The image
 * status will be shown as ARCHIVED"; it is restored by `UpdateImageStorageClass` to `STANDARD` or by pushing it
 * again. `DescribeImages` and `ListImages` return `ACTIVE` images only unless their `imageStatus` filter says
 * otherwise (the API reference, `ImageStatusFilter`).
 *
 * Where the documentation is silent, the sandbox chooses:
 * - `BatchGetImage` of an archived (or still activating) image answers the failure `ImageNotFound`, what a pull
 *   of an absent image answers: the documented 404;
 * - a restore keeps the image `ACTIVATING` (not pullable) for {@link RESTORE_SECONDS} of the virtual clock (no
 *   duration is documented: pessimistic); a push of the same manifest restores it at once;
 * - archiving an image that is not `ACTIVE`, or restoring one that is, is refused with
 *   `ImageStorageClassUpdateNotSupportedException` (the API's error for an update it does not support);
 * - no `ECR Image Action` (`UPDATE_STORAGE_CLASS`) is emitted: nothing in this project consumes one, and ECR
 *   emits events "on a best effort basis" (ecr-eventbridge.html).
 */

export type ImageStatus = 'ACTIVE' | 'ARCHIVED' | 'ACTIVATING';
export const IMAGE_STATUS_FILTERS = ['ACTIVE', 'ARCHIVED', 'ACTIVATING', 'ANY'] as const;

/** How long a restored image stays `ACTIVATING`, in seconds of the virtual clock. */
export const RESTORE_SECONDS = 1800;

/** The archive state of an image that was ever archived (epoch milliseconds on the virtual clock). */
export interface ArchiveState {
  /** True while archived or activating; false once restored by a push. */
  archived: boolean;
  lastArchivedAt: number;
  /** When a restore completes (or completed): `ACTIVATING` until then. */
  activeAt?: number | undefined;
}

/** The image's status at `nowMs`. */
export function statusOf(image: ImageRecord, nowMs: number): ImageStatus {
  const a = image.archive;
  if (!a?.archived) return 'ACTIVE';
  if (a.activeAt === undefined) return 'ARCHIVED';
  return nowMs < a.activeAt ? 'ACTIVATING' : 'ACTIVE';
}

/** `imageStatus`, `lastArchivedAt` and `lastActivatedAt` as `DescribeImages` shows them. */
export function archiveDetail(image: ImageRecord, nowMs: number): Record<string, unknown> {
  const a = image.archive;
  const activated = a?.activeAt !== undefined && a.activeAt <= nowMs ? a.activeAt : undefined;
  return {
    imageStatus: statusOf(image, nowMs),
    ...(a ? { lastArchivedAt: new Date(a.lastArchivedAt) } : {}),
    ...(activated !== undefined ? { lastActivatedAt: new Date(activated) } : {}),
  };
}

/** True when `filter` (a `DescribeImages`/`ListImages` `imageStatus` filter, `ACTIVE` by default) keeps the image. */
export function matchesStatus(
  image: ImageRecord,
  filter: (typeof IMAGE_STATUS_FILTERS)[number],
  nowMs: number,
): boolean {
  return filter === 'ANY' || statusOf(image, nowMs) === filter;
}

/** `UpdateImageStorageClass` on one image: returns the status it is left in. */
export function updateStorageClass(
  image: ImageRecord,
  target: 'STANDARD' | 'ARCHIVE',
  nowMs: number,
): ImageStatus {
  const status = statusOf(image, nowMs);
  if (target === 'ARCHIVE') {
    if (status !== 'ACTIVE')
      throw notSupported(`the image is ${status}: only an ACTIVE image can be archived`);
    image.archive = { archived: true, lastArchivedAt: nowMs };
    return 'ARCHIVED';
  }
  if (status === 'ACTIVE') throw notSupported('the image is ACTIVE: only an ARCHIVED image can be restored');
  const archive = image.archive as ArchiveState;
  if (archive.activeAt === undefined) archive.activeAt = nowMs + RESTORE_SECONDS * 1000;
  return 'ACTIVATING';
}

/** A push of an archived image's manifest restores it at once ("by re-pushing the image"). */
export function restoreByPush(image: ImageRecord, nowMs: number): boolean {
  if (statusOf(image, nowMs) === 'ACTIVE') return false;
  image.archive = { ...(image.archive as ArchiveState), archived: false, activeAt: nowMs };
  return true;
}

/** `UpdateImageStorageClass` (https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_UpdateImageStorageClass.html). */
export function updateImageStorageClassHandler(
  world: World,
  backend: EcrBackend,
  api: ImageApi,
): JsonOperation {
  return async (ctx, body) => {
    const name = input.repositoryName(body);
    const registryId = input.registryId(body);
    const members = input.ecr(body);
    const target = members.oneOf('targetStorageClass', ['STANDARD', 'ARCHIVE'] as const);
    if (target === undefined) throw ecrErrors.invalidMember('targetStorageClass', 'Member must not be null');
    const idMembers = members.object('imageId');
    if (idMembers === undefined) throw ecrErrors.invalidMember('imageId', 'Member must not be null');
    const id: ImageId = { imageDigest: idMembers.str('imageDigest'), imageTag: idMembers.str('imageTag') };
    await ctx.authorize('ecr:UpdateImageStorageClass', api.arn(ctx, registryId, name));
    const store = backend.store(ctx.region);
    const r = store.repository(name, registryId);
    const found = store.resolve(r, id);
    if ('failureCode' in found) {
      if (found.failureCode === 'ImageNotFound' || found.failureCode === 'ImageTagDoesNotMatchDigest')
        throw ecrErrors.imageNotFound(id, r.name, r.registryId);
      throw ecrErrors.invalidParameter(found.failureReason);
    }
    const imageStatus = updateStorageClass(found, target, store.now());
    world.changed();
    return {
      registryId: r.registryId,
      repositoryName: r.name,
      imageId: { imageDigest: found.digest, ...(id.imageTag !== undefined ? { imageTag: id.imageTag } : {}) },
      imageStatus,
    };
  };
}

function notSupported(why: string): ServiceError {
  return new ServiceError(
    'ImageStorageClassUpdateNotSupportedException',
    `The requested image storage class update is not supported: ${why}`,
  );
}
