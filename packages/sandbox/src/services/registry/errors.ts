import { ServiceError } from '../../errors.ts';

/**
 * Errors of the OCI distribution API (opencontainers/distribution-spec `spec.md`, "Error Codes"): a JSON body
 * `{"errors":[{"code","message","detail"}]}` with the spec's code and status. Where ECR's registry prints its
 * own text (relayed verbatim by docker and skopeo: "name unknown: The repository with name … does not exist",
 * "manifest unknown: Requested image not found", "tag invalid: The image tag … is immutable", "denied: Your
 * authorization token has expired. Reauthenticate and try again.") the message is ECR's.
 */
const registryError = (code: string, message: string, status: number) =>
  new ServiceError(code, message, status);

export const registryErrors = {
  unauthorized: (message = 'authentication required') => registryError('UNAUTHORIZED', message, 401),
  expired: () =>
    registryError('DENIED', 'Your authorization token has expired. Reauthenticate and try again.', 401),
  invalidToken: () =>
    registryError(
      'UNAUTHORIZED',
      'Your authorization token is not valid. Reauthenticate and try again.',
      401,
    ),
  keyInactive: () =>
    registryError(
      'DENIED',
      'The access key that obtained this authorization token is no longer active. Reauthenticate and try again.',
      401,
    ),
  denied: (message: string) => registryError('DENIED', message, 403),
  nameInvalid: (name: string) => registryError('NAME_INVALID', `invalid repository name '${name}'`, 400),
  nameUnknown: (message: string) => registryError('NAME_UNKNOWN', message, 404),
  manifestUnknown: (message = 'Requested image not found') => registryError('MANIFEST_UNKNOWN', message, 404),
  manifestInvalid: (message: string) => registryError('MANIFEST_INVALID', message, 400),
  manifestBlobUnknown: (message: string) => registryError('MANIFEST_BLOB_UNKNOWN', message, 400),
  tagInvalid: (message: string) => registryError('TAG_INVALID', message, 400),
  digestInvalid: (message: string) => registryError('DIGEST_INVALID', message, 400),
  blobUnknown: (digest: string) => registryError('BLOB_UNKNOWN', `blob unknown to registry: ${digest}`, 404),
  uploadUnknown: (id: string) =>
    registryError('BLOB_UPLOAD_UNKNOWN', `blob upload unknown to registry: ${id}`, 404),
  uploadInvalid: (message: string) => registryError('BLOB_UPLOAD_INVALID', message, 400),
  rangeInvalid: (message: string) => registryError('BLOB_UPLOAD_INVALID', message, 416),
  sizeInvalid: (message: string) => registryError('SIZE_INVALID', message, 413),
  unsupported: (message = 'The operation is unsupported.') => registryError('UNSUPPORTED', message, 405),
  notFound: () => registryError('NOT_FOUND', 'The requested resource is not part of the registry API.', 404),
  /** ECR's registry when throttled: docker prints "toomanyrequests: Rate exceeded" (ECR common-errors.html). */
  tooManyRequests: () => registryError('TOOMANYREQUESTS', 'Rate exceeded', 429),
};

/**
 * The registry error an ECR API error becomes when the same rule fails a registry request (the manifest
 * PUT goes through PutImage's logic).
 */
export function fromEcrError(err: ServiceError): ServiceError {
  switch (err.code) {
    case 'RepositoryNotFoundException':
      return registryErrors.nameUnknown(err.message);
    case 'ImageDigestDoesNotMatchException':
      return registryErrors.digestInvalid(err.message);
    case 'LayersNotFoundException':
    case 'ReferencedImagesNotFoundException':
      return registryErrors.manifestBlobUnknown(err.message);
    case 'ImageTagAlreadyExistsException':
      return registryErrors.tagInvalid(err.message);
    case 'UploadNotFoundException':
      return registryError('BLOB_UPLOAD_UNKNOWN', err.message, 404);
    case 'InvalidLayerPartException':
      return registryErrors.rangeInvalid(err.message);
    case 'InvalidLayerException':
      return registryErrors.digestInvalid(err.message);
    case 'InvalidParameterException':
      return registryErrors.manifestInvalid(err.message);
    case 'AccessDeniedException':
      return registryErrors.denied(err.message);
    default:
      return registryError('UNKNOWN', err.message, err.status >= 500 ? err.status : 400);
  }
}
