/**
 * The NVCF API's shapes, field for field: the DTOs of the open-source service (`NVIDIA/nvcf`, `nvcf-core`
 * `rest/registry/dto`, `rest/function/management/dto`) and NVCF's published OpenAPI spec (copy:
 * `stackql-registry/stackql-provider-nvidia:provider-dev/downloaded/nvcf_openapi.json`). Timestamps stay
 * ISO-8601 strings as the API sends them (their precision varies: parse with `Date.parse`). Sets
 * (`artifactTypes`, `tags`) arrive as arrays whose order NVCF does not promise. Null fields are omitted by
 * NVCF, hence the optional members.
 */

export const ARTIFACT_TYPES = ['CONTAINER', 'HELM', 'MODEL', 'RESOURCE'] as const;
export type ArtifactType = (typeof ARTIFACT_TYPES)[number];

export type ProvisionedBy = 'SYSTEM' | 'USER';

/**
 * `SecretDto`: for registry credentials `value` is base64 of `username:password`
 * (https://docs.nvidia.com/nvcf/third-party-registries).
 */
export interface SecretDto {
  name: string;
  value: string;
}

/** `POST /v2/nvcf/registry-credentials` body (`AddRegistryCredentialRequest`). */
export interface AddRegistryCredentialRequest {
  registryHostname: string;
  secret: SecretDto;
  artifactTypes: ArtifactType[];
  tags?: string[] | undefined;
  description?: string | undefined;
}

/**
 * `PATCH /v2/nvcf/registry-credentials/{id}` body (`UpdateRegistryCredentialRequest`). Note the member
 * name `artifactTypeEnums`: NVCF ignores unknown members (`FAIL_ON_UNKNOWN_PROPERTIES` disabled), so
 * `artifactTypes` here would be silently dropped.
 */
export interface UpdateRegistryCredentialRequest {
  secret?: SecretDto | undefined;
  artifactTypeEnums?: ArtifactType[] | undefined;
}

/** `RegistryCredentialDetailsDto`. The secret value is never returned. */
export interface RegistryCredential {
  registryCredentialId: string;
  ncaId: string;
  /** The `secret.name` sent on create (renamed by a PATCH that sends another name). */
  registryCredentialName: string;
  /** Display name of the recognized registry, e.g. `AWS ECR Private Registry`. */
  registryName: string;
  registryHostname: string;
  artifactTypes: ArtifactType[];
  tags?: string[];
  description?: string;
  provisionedBy: ProvisionedBy;
  /** Self-hosted NVCF only: `LEGACY` for NGC keys that are not `nvapi-` keys. */
  keyType?: string;
  lastUpdatedAt: string;
  createdAt: string;
}

export interface RegistryCredentialFilter {
  /** Keep credentials with ANY of these types (default: all four). */
  artifactTypes?: readonly ArtifactType[] | undefined;
  /** Default: both. */
  provisionedBy?: readonly ProvisionedBy[] | undefined;
}

export interface RecognizedRegistry {
  name: string;
  /** Generic hostname: private ECR appears as `dkr.ecr.amazonaws.com`. */
  hostname: string;
}

export type RecognizedRegistries = Partial<Record<ArtifactType, RecognizedRegistry[]>>;

export type FunctionVisibility = 'authorized' | 'private' | 'public';

export type FunctionStatus =
  | 'ACTIVE'
  | 'DEPLOYING'
  | 'ERROR'
  | 'INACTIVE'
  | 'DELETED'
  | 'DEGRADED'
  | 'DEGRADING';

export interface FunctionModel {
  name?: string;
  version?: string;
  uri?: string;
}

export interface FunctionResource {
  name?: string;
  version?: string;
  uri?: string;
}

export interface FunctionHealth {
  protocol?: string;
  uri?: string;
  port?: number;
  timeout?: string;
  expectedStatusCode?: number;
}

export interface FunctionInstance {
  instanceId?: string;
  instanceType?: string;
  instanceStatus?: 'ACTIVE' | 'STARTING' | 'RUNNING' | 'ERRORED' | 'PREEMPTED' | 'DELETED' | 'TERMINATED';
  gpu?: string;
  backend?: string;
  location?: string;
  instanceCreatedAt?: string;
}

/** `FunctionDto`: one per function *version*. */
export interface FunctionDto {
  id: string;
  ncaId: string;
  versionId: string;
  name: string;
  status: FunctionStatus;
  inferenceUrl?: string;
  inferencePort?: number;
  /** True for shared or public functions of other accounts, whose image details are blanked. */
  ownedByDifferentAccount?: boolean;
  /** `host/repo:tag`: the registry credential used is the one whose hostname equals its host exactly. */
  containerImage?: string;
  containerArgs?: string;
  containerEnvironment?: { key: string; value: string }[];
  models?: FunctionModel[];
  resources?: FunctionResource[];
  apiBodyFormat?: string;
  helmChart?: string;
  helmChartServiceName?: string;
  healthUri?: string;
  health?: FunctionHealth;
  createdAt?: string;
  activeInstances?: FunctionInstance[];
  tags?: string[];
  description?: string;
  functionType?: 'DEFAULT' | 'STREAMING' | 'LLM';
  secrets?: string[];
  rateLimit?: unknown;
  telemetries?: unknown;
}

/** `GpuSpecificationDto`: one entry of a deployment. `cpuArch` and friends are filled by NVCF. */
export interface GpuSpecification {
  gpuSpecificationId?: string;
  gpu: string;
  backend?: string;
  maxInstances: number;
  minInstances: number;
  instanceType: string;
  availabilityZones?: string[];
  maxRequestConcurrency?: number;
  configuration?: unknown;
  clusters?: string[];
  regions?: string[];
  attributes?: string[];
  preferredOrder?: number;
  cpuArch?: string;
  os?: string;
  driverVersion?: string;
  storage?: string;
  systemMemory?: string;
  gpuMemory?: string;
  autoscalingConfiguration?: unknown;
  helmValidationPolicy?: unknown;
}

/** `FunctionDeploymentDto`. */
export interface FunctionDeployment {
  functionId: string;
  functionVersionId: string;
  deploymentId: string;
  functionName?: string;
  ncaId: string;
  functionStatus: FunctionStatus;
  healthInfo?: {
    icmsRequestId?: string;
    gpu?: string;
    backend?: string;
    instanceType?: string;
    error?: string;
  }[];
  deploymentSpecifications: GpuSpecification[];
  createdAt?: string;
  lastUpdatedAt?: string;
}

/** RFC 7807 Problem Details, NVCF's error body (`NVIDIA/nvcf`, `nv-boot-starter-exceptions`). */
export interface ProblemDetails {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  instance?: string;
}

/**
 * The NGC gateway's error body (401s): `{"requestStatus": {...}}`, as
 * `NVIDIA/terraform-provider-ngc:internal/provider/utils/nvcf_client.go` parses it.
 */
export interface RequestStatus {
  statusCode?: string;
  statusDescription?: string;
  requestId?: string;
}
