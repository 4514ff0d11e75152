import { ServiceError } from '../../errors.ts';
import type { MemberRules } from '../../server/members.ts';

/**
 * ECR's errors (AWS JSON 1.1, message member `message`, every client fault 400:
 * `smithy-lang/smithy:docs/source-2.0/aws/protocols/aws-json.rst.template`). Codes are the
 * SDK's error shapes. Messages, in order of preference:
 * - observed from the live service (quoted in user reports and in `docker`/`skopeo` output, where ECR's
 *   registry relays the same text): repository not found, the immutable-tag refusal, the repository-name
 *   pattern, "Requested image not found";
 * - moto's emulation (`getmoto/moto:moto/ecr/exceptions.py`, `models.py`; emulator-derived, not
 *   verified against live AWS): repository exists / not empty, image not found, image already exists, failure
 *   reasons;
 * - otherwise the SDK's own description of the error, which is what AWS documents the error to mean.
 * ECR Public uses the same shapes and texts (its SDK documents the same errors).
 */

/** `{imageDigest:'…', imageTag:'…'}` as moto and ECR print an image id in messages (`null` when absent). */
export function imageIdText(id: { imageDigest?: string | undefined; imageTag?: string | undefined }): string {
  return `{imageDigest:'${id.imageDigest ?? 'null'}', imageTag:'${id.imageTag ?? 'null'}'}`;
}

/** The repository-name pattern ECR quotes in its InvalidParameterException (live wording). */
export const REPOSITORY_NAME_PATTERN_TEXT =
  '[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*)*';

export const ecrErrors = {
  repositoryNotFound: (name: string, registryId: string) =>
    new ServiceError(
      'RepositoryNotFoundException',
      `The repository with name '${name}' does not exist in the registry with id '${registryId}'`,
    ),
  repositoryAlreadyExists: (name: string, registryId: string) =>
    new ServiceError(
      'RepositoryAlreadyExistsException',
      `The repository with name '${name}' already exists in the registry with id '${registryId}'`,
    ),
  repositoryNotEmpty: (name: string, registryId: string) =>
    new ServiceError(
      'RepositoryNotEmptyException',
      `The repository with name '${name}' in registry with id '${registryId}' cannot be deleted because it still contains images`,
    ),
  imageNotFound: (
    id: { imageDigest?: string | undefined; imageTag?: string | undefined },
    repository: string,
    registryId: string,
  ) =>
    new ServiceError(
      'ImageNotFoundException',
      `The image with imageId ${imageIdText(id)} does not exist within the repository with name '${repository}' in the registry with id '${registryId}'`,
    ),
  imageAlreadyExists: (digest: string, tag: string | undefined, repository: string, registryId: string) =>
    new ServiceError(
      'ImageAlreadyExistsException',
      `Image with digest '${digest}' ${tag === undefined ? '' : `and tag '${tag}' `}already exists in the repository with name '${repository}' in registry with id '${registryId}'`,
    ),
  imageTagAlreadyExists: (tag: string, repository: string) =>
    new ServiceError(
      'ImageTagAlreadyExistsException',
      `The image tag '${tag}' already exists in the '${repository}' repository and cannot be overwritten because the repository is immutable.`,
    ),
  imageDigestDoesNotMatch: (given: string, computed: string) =>
    new ServiceError(
      'ImageDigestDoesNotMatchException',
      `The specified image digest '${given}' does not match the digest that Amazon ECR calculated for the image: '${computed}'`,
    ),
  layersNotFound: (digests: readonly string[], repository: string, registryId: string) =>
    new ServiceError(
      'LayersNotFoundException',
      `Layers with digests '[${digests.join(', ')}]' required for pushing image into repository with name '${repository}' in the registry with id '${registryId}' do not exist`,
    ),
  referencedImagesNotFound: (digests: readonly string[], repository: string, registryId: string) =>
    new ServiceError(
      'ReferencedImagesNotFoundException',
      `Images with digests '[${digests.join(', ')}]' required for pushing image into repository with name '${repository}' in the registry with id '${registryId}' do not exist`,
    ),
  layerNotFound: (digest: string, repository: string, registryId: string) =>
    new ServiceError(
      'LayersNotFoundException',
      `The specified layer '${digest}' could not be found in the repository with name '${repository}' in the registry with id '${registryId}'`,
    ),
  layerInaccessible: (digest: string) =>
    new ServiceError(
      'LayerInaccessibleException',
      `The specified layer '${digest}' is not available because it is not associated with an image. Unassociated image layers may be cleaned up at any time.`,
    ),
  uploadNotFound: (uploadId: string, repository: string, registryId: string) =>
    new ServiceError(
      'UploadNotFoundException',
      `The upload with id '${uploadId}' could not be found, or is not valid for the repository with name '${repository}' in the registry with id '${registryId}'`,
    ),
  invalidLayerPart: (
    detail: string,
    at: { registryId: string; repositoryName: string; uploadId: string; lastValidByteReceived: number },
  ) =>
    new ServiceError(
      'InvalidLayerPartException',
      `The layer part size is not valid, or the first byte specified is not consecutive to the last byte of a previous layer part upload: ${detail}`,
      400,
      at,
    ),
  layerPartTooSmall: () =>
    new ServiceError('LayerPartTooSmallException', 'Layer parts must be at least 5 MiB in size.'),
  emptyUpload: (uploadId: string) =>
    new ServiceError(
      'EmptyUploadException',
      `The layer upload with id '${uploadId}' does not contain any layer parts.`,
    ),
  invalidLayer: (given: string, computed: string) =>
    new ServiceError(
      'InvalidLayerException',
      `The layer digest calculation performed by Amazon ECR upon receipt of the image layer does not match the digest specified: specified '${given}', calculated '${computed}'`,
    ),
  layerAlreadyExists: (digest: string) =>
    new ServiceError(
      'LayerAlreadyExistsException',
      `The image layer '${digest}' already exists in the associated repository.`,
    ),
  invalidParameter: (message: string) => new ServiceError('InvalidParameterException', message),
  /** A member that fails its constraint, in ECR's `Invalid parameter at '<member>'` wording. */
  invalidMember: (member: string, constraint: string) =>
    new ServiceError(
      'InvalidParameterException',
      `Invalid parameter at '${member}' failed to satisfy constraint: '${constraint}'`,
    ),
  tooManyTags: () =>
    new ServiceError(
      'TooManyTagsException',
      'The list of tags on the repository is over the limit. The maximum number of tags that can be applied to a repository is 50.',
    ),
  invalidTagParameter: (detail: string) => new ServiceError('InvalidTagParameterException', detail),
};

/**
 * How ECR words a broken request member (the shared reader in `server/members.ts`): every one is an
 * `InvalidParameterException` naming the member; an empty required string counts as missing, and a string
 * member without its own bound is held to 1024 characters.
 */
export const ecrMembers: MemberRules = {
  wrongType: (member, expected) => ecrErrors.invalidMember(member, `Member must be ${expected}`),
  invalid: (path, _value, constraint) => ecrErrors.invalidMember(path, constraint),
  blankIsMissing: true,
  defaultMax: 1024,
};
