/**
 * What the domain needs of the NVCF API, as ports: `packages/core` imports no other package of ours
 * (root README.md, "How it works"), so the rotation and the audit depend on these interfaces and the edge
 * passes `NvcfClient` from `@nvcf-ecr/nvcf`, which satisfies them structurally (a type-level test proves it).
 * Failures are recognised through the fields every NVCF error carries ({@link NvcfFailureShape}), never by
 * importing the client's classes.
 */
import { NOT_PROPAGATED_CODES } from '../rotation/aws-errors.ts';

/**
 * The fields of an NVCF registry credential the domain reads
 * (NVIDIA/nvcf:src/control-plane-services/…/dto/RegistryCredentialDetailsDto.java).
 */
export interface NvcfRegistryCredentialView {
  readonly registryCredentialId: string;
  readonly registryCredentialName: string;
  readonly registryHostname: string;
  readonly artifactTypes: readonly string[];
  readonly provisionedBy: string;
  /**
   * ISO-8601 (NVCF's clock); moves on every PATCH (`updateRegistryCredential`,
   * RegistryCredentialService.java).
   */
  readonly lastUpdatedAt: string;
  readonly createdAt: string;
}

/**
 * `POST /registry-credentials` body
 * (NVIDIA/nvcf:src/control-plane-services/…/dto/AddRegistryCredentialRequest.java).
 */
export interface NvcfCreateCredentialRequest {
  registryHostname: string;
  secret: { name: string; value: string };
  artifactTypes: 'CONTAINER'[];
  tags?: string[] | undefined;
  description?: string | undefined;
}

/**
 * Registry-credential operations the rotation uses. PATCH must send the existing name: a PATCH's
 * `secret.name` renames the credential (`updateRegistryCredential`,
 * NVIDIA/nvcf:src/control-plane-services/…/RegistryCredentialService.java).
 */
export interface NvcfRegistryCredentialsPort {
  /**
   * The credential with NVCF's uniqueness key (hostname, name), compared exactly (`String.equals`,
   * RegistryCredentialService.java).
   */
  findRegistryCredential(hostname: string, name: string): Promise<NvcfRegistryCredentialView | undefined>;
  /**
   * Every credential for the hostname, whatever its name (NVCF hands them all to workloads). Optional for
   * ports that cannot list: absence is then judged by (hostname, name) only.
   */
  findRegistryCredentialsForHost?(hostname: string): Promise<readonly NvcfRegistryCredentialView[]>;
  createRegistryCredential(request: NvcfCreateCredentialRequest): Promise<NvcfRegistryCredentialView>;
  /**
   * `artifactTypeEnums` adds types (NVCF never removes any; note the member's name,
   * `UpdateRegistryCredentialRequest.java`).
   */
  patchRegistryCredential(
    id: string,
    request: { secret: { name: string; value: string }; artifactTypeEnums?: 'CONTAINER'[] },
  ): Promise<NvcfRegistryCredentialView>;
}

/**
 * The shape of an NVCF failure as the domain reads it: `status` for API answers, `awsErrorCode` when NVCF
 * relays AWS's answer to its credential check (https://docs.nvidia.com/nvcf/third-party-registries), and the
 * error's `name` for failures without an answer (`NvcfNetworkError`, `NvcfTimeoutError`).
 */
export interface NvcfFailureShape {
  readonly name?: string;
  readonly status?: number;
  readonly awsErrorCode?: string | undefined;
  /** NVCF's `Retry-After`, in milliseconds, when its answer had one (a 429 or a 503). */
  readonly retryAfterMs?: number | undefined;
}

/** How the domain treats an NVCF failure. */
export type NvcfFailureKind =
  /** NVCF's ECR check refused a key IAM has not propagated yet: 400 relaying `UnrecognizedClientException`. */
  | 'key-not-propagated'
  /** 429, 5xx, or no answer at all: worth another attempt (PATCH is idempotent; POST is re-looked-up first). */
  | 'transient'
  /** 409: (hostname, name) taken — a concurrent or earlier create won; look it up again. */
  | 'conflict'
  /** 404: the credential disappeared between the lookup and the PATCH; look it up again. */
  | 'not-found'
  /** Anything else (NVCF's own 400s, 401, 403, malformed answers): retrying will not help. */
  | 'fatal';

/**
 * AWS codes NVCF relays while a new key is not valid yet (IAM eventual consistency,
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency):
 * the same codes as when the rotation calls AWS with the key itself — a relayed answer is read alike.
 */
const NOT_PROPAGATED = NOT_PROPAGATED_CODES;
const NO_ANSWER = new Set(['NvcfNetworkError', 'NvcfTimeoutError']);

/** Classifies an error thrown by an {@link NvcfRegistryCredentialsPort} call. */
export function classifyNvcfFailure(err: unknown): NvcfFailureKind {
  if (typeof err !== 'object' || err === null) return 'fatal';
  const e = err as NvcfFailureShape;
  if (typeof e.status === 'number') {
    if (e.status === 400 && e.awsErrorCode !== undefined && NOT_PROPAGATED.has(e.awsErrorCode))
      return 'key-not-propagated';
    if (e.status === 429 || e.status >= 500) return 'transient';
    if (e.status === 409) return 'conflict';
    if (e.status === 404) return 'not-found';
    return 'fatal';
  }
  return e.name !== undefined && NO_ANSWER.has(e.name) ? 'transient' : 'fatal';
}

// ---- reads of the compliance audit --------------------------------------------------------------------

/**
 * `FunctionDto` (NVIDIA/nvcf:src/control-plane-services/…/FunctionDto.java), one per function *version*, as
 * the audit reads it.
 */
export interface NvcfFunctionView {
  readonly id: string;
  readonly versionId: string;
  readonly name: string;
  readonly status: string;
  /** `host/repo:tag`; blanked for functions of other accounts. */
  readonly containerImage?: string | undefined;
  readonly helmChart?: string | undefined;
  readonly ownedByDifferentAccount?: boolean | undefined;
}

/**
 * One `GpuSpecificationDto` of a deployment
 * (NVIDIA/nvcf:src/control-plane-services/…/GpuSpecificationDto.java); NVCF fills `cpuArch` when it knows it.
 */
export interface NvcfGpuSpecificationView {
  readonly gpu: string;
  readonly instanceType: string;
  readonly cpuArch?: string | undefined;
}

/** `FunctionDeploymentDto` (NVIDIA/nvcf:src/control-plane-services/…/FunctionDeploymentDto.java). */
export interface NvcfDeploymentView {
  readonly functionId: string;
  readonly functionVersionId: string;
  readonly deploymentId: string;
  readonly functionStatus: string;
  readonly deploymentSpecifications: readonly NvcfGpuSpecificationView[];
}

/**
 * What the compliance audit reads: every credential (unpaginated: the API has no page parameters), function
 * versions, deployments.
 */
export interface NvcfAuditPort {
  listRegistryCredentials(): Promise<readonly NvcfRegistryCredentialView[]>;
  listFunctions(visibility?: 'private'): Promise<readonly NvcfFunctionView[]>;
  /**
   * The deployment of a version, or `undefined` when it was never deployed (NVCF answers 404, as
   * NVIDIA/terraform-provider-ngc:internal/provider/utils/nvcf_client.go expects).
   */
  getDeployment(functionId: string, versionId: string): Promise<NvcfDeploymentView | undefined>;
}

/**
 * How long NVCF asked the caller to wait before trying again (`Retry-After`, in milliseconds), or `undefined`
 * when it did not say. The client gives such an answer back at once when the wait is longer than its own
 * retry pauses; the caller's bounded wait must honour it rather than poll again.
 */
export function nvcfRetryAfterMs(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const ms = (err as NvcfFailureShape).retryAfterMs;
  return typeof ms === 'number' && Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}

/** The HTTP status of an NVCF failure, or `undefined` when NVCF never answered (network, timeout, key provider). */
export function nvcfFailureStatus(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const status = (err as NvcfFailureShape).status;
  return typeof status === 'number' ? status : undefined;
}
