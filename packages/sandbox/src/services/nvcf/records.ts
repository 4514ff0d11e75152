/**
 * NVCF's records as the sandbox stores them (accounts, API keys, credentials, function versions, deployments)
 * and the DTO views NVCF answers with: the shapes every other NVCF file shares, apart from the rules.
 */
import { ARTIFACT_TYPES, type ArtifactType } from './registries.ts';

export type ProvisionedBy = 'SYSTEM' | 'USER';
export const PROVISIONED_BY: readonly ProvisionedBy[] = ['SYSTEM', 'USER'];
export type Visibility = 'authorized' | 'private' | 'public';
export const VISIBILITIES: readonly Visibility[] = ['authorized', 'private', 'public'];

/** The NCA the sandbox's own NGC key belongs to. */
export const DEFAULT_NCA_ID = 'sandbox-nca-0000000000000000000001';
/** `NvcfConstants.DEFAULT_MAX_REGISTRY_CREDENTIALS_ALLOWED` (an account update may raise it to 50). */
export const DEFAULT_MAX_CREDENTIALS = 25;
export const MAX_CREDENTIALS_LIMIT = 50;

/**
 * Scopes of the sandbox's key: everything this project calls (https://docs.nvidia.com/nvcf/dev/api, scope table).
 */
export const DEFAULT_SCOPES = [
  'manage_registry_credentials',
  'list_functions',
  'list_functions_details',
  'deploy_function',
];

export interface AccountRecord {
  ncaId: string;
  maxRegistryCredentials: number;
}

export interface ApiKeyRecord {
  key: string;
  scopes: string[];
  /** NCA the key resolves to (it need not exist: `RegistryCredentialManagementControllerTest`). */
  account: string;
  revoked: boolean;
}

export interface CredentialRecord {
  registryCredentialId: string;
  ncaId: string;
  registryCredentialName: string;
  registryName: string;
  registryHostname: string;
  artifactTypes: ArtifactType[];
  tags?: string[] | undefined;
  description?: string | undefined;
  provisionedBy: ProvisionedBy;
  lastUpdatedAt: string;
  createdAt: string;
  /** The stored secret value (base64 `username:password`): never returned by the API. */
  secret: string;
  /** Stale-cache mode: the secret NVCF's caches keep serving to pulls until `until`. */
  previousSecret?: { value: string; until: string } | undefined;
}

/** A function version: a `FunctionDto` as seeded, plus the sandbox-only `visibility`. */
export interface FunctionRecord {
  dto: Record<string, unknown> & { id: string; versionId: string; ncaId: string };
  visibility: Visibility;
}

export type DeploymentRecord = Record<string, unknown> & {
  functionId: string;
  functionVersionId: string;
  deploymentId: string;
  ncaId: string;
};

export interface NvcfSnapshot {
  accounts: AccountRecord[];
  apiKeys: ApiKeyRecord[];
  credentials: CredentialRecord[];
  functions: FunctionRecord[];
  deployments: DeploymentRecord[];
  staleCacheSeconds: number;
}

/** The DTO NVCF returns for a credential (`RegistryCredentialDetailsDto`, null fields omitted). */
export function credentialDto(c: CredentialRecord): Record<string, unknown> {
  return {
    registryCredentialId: c.registryCredentialId,
    ncaId: c.ncaId,
    registryCredentialName: c.registryCredentialName,
    registryName: c.registryName,
    registryHostname: c.registryHostname,
    artifactTypes: [...c.artifactTypes],
    ...(c.tags !== undefined ? { tags: [...c.tags] } : {}),
    ...(c.description !== undefined ? { description: c.description } : {}),
    provisionedBy: c.provisionedBy,
    lastUpdatedAt: c.lastUpdatedAt,
    createdAt: c.createdAt,
  };
}

// `hideDetailsForPublicAndSharedFunctions` blanks what another account's function pulls from.
const HIDDEN_FOR_OTHERS = [
  'containerImage',
  'helmChart',
  'helmChartServiceName',
  'models',
  'resources',
  'containerArgs',
  'containerEnvironment',
  'secrets',
];

export function sortTypes(types: readonly ArtifactType[]): ArtifactType[] {
  return ARTIFACT_TYPES.filter((t) => types.includes(t));
}

/** A function version as `ncaId` sees it: another account's comes flagged, its artifact details blanked. */
export function functionView(f: FunctionRecord, ncaId: string): Record<string, unknown> {
  const out: Record<string, unknown> = { ...f.dto };
  if (f.dto.ncaId !== ncaId) {
    out['ownedByDifferentAccount'] = true;
    for (const k of HIDDEN_FOR_OTHERS) delete out[k];
  }
  return out;
}
