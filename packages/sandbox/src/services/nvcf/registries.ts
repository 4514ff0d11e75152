import { ECR_PUBLIC_HOSTNAME, nvcfRecognition } from '@nvcf-ecr/core/ecr';

/**
 * NVCF's recognized registries (`NVIDIA/nvcf`: `RegistryCredentialManagementFacade.getRecognizedRegistries`,
 * nv-boot's `RegistryMapperService`). The table is the self-hosted default
 * (`nvcf-service/.../application.yaml`: CONTAINER and HELM = docker, ngc, ecr, ecr-public, volcengine, acr;
 * MODEL and RESOURCE = ngc) with the *production* NGC hostnames the managed service and the NGC SDK's
 * `REGISTRY_TYPE_MAP` use (`nvcr.io`, `helm.ngc.nvidia.com`, `api.ngc.nvidia.com`) instead of the
 * self-hosted `stg.` ones.
 */

export const ARTIFACT_TYPES = ['CONTAINER', 'HELM', 'MODEL', 'RESOURCE'] as const;
export type ArtifactType = (typeof ARTIFACT_TYPES)[number];

export interface RecognizedRegistry {
  readonly name: string;
  readonly hostname: string;
}

export const ECR_PRIVATE_NAME = 'AWS ECR Private Registry';
export const ECR_PUBLIC_NAME = 'AWS ECR Public Registry';
/** The generic hostname NVCF maps every recognised private ECR hostname onto. */
export const ECR_PRIVATE_GENERIC = 'dkr.ecr.amazonaws.com';

const CONTAINER_LIKE: readonly RecognizedRegistry[] = [
  { name: ECR_PRIVATE_NAME, hostname: ECR_PRIVATE_GENERIC },
  { name: ECR_PUBLIC_NAME, hostname: ECR_PUBLIC_HOSTNAME },
  { name: 'Azure Container Registry', hostname: 'azurecr.io' },
  { name: 'Docker Hub Registry', hostname: 'docker.io' },
  { name: 'Volcano Engine Registry', hostname: 'cr.volces.com' },
];

const NGC_NAME = 'NGC Private Registry';
const byName = (a: RecognizedRegistry, b: RecognizedRegistry) => a.name.localeCompare(b.name);

/** Per artifact type, sorted by name as `RegistryCredentialManagementFacade.flattenRegistryInfo` does. */
export const RECOGNIZED_REGISTRIES: Readonly<Record<ArtifactType, readonly RecognizedRegistry[]>> = {
  CONTAINER: [...CONTAINER_LIKE, { name: NGC_NAME, hostname: 'nvcr.io' }].sort(byName),
  HELM: [...CONTAINER_LIKE, { name: NGC_NAME, hostname: 'helm.ngc.nvidia.com' }].sort(byName),
  MODEL: [{ name: NGC_NAME, hostname: 'api.ngc.nvidia.com' }],
  RESOURCE: [{ name: NGC_NAME, hostname: 'api.ngc.nvidia.com' }],
};

// NGC UI canary aliases NVCF folds onto the production hostnames (`RegistryMapperService`).
const CANARY: Readonly<Record<string, string>> = {
  'canary.nvcr.io': 'nvcr.io',
  'helm.canary.ngc.nvidia.com': 'helm.ngc.nvidia.com',
  'api.canary.ngc.nvidia.com': 'api.ngc.nvidia.com',
};

/**
 * `RegistryMapperService.toNormalizedRecognizedRegistryHostname`: canary aliases, then
 * `\d{12}.dkr.ecr.<AWS SDK region>.amazonaws.com` (exact, case-sensitive; core's `nvcfRecognition`
 * carries the region list) → `dkr.ecr.amazonaws.com`, `*.cr.volces.com` → `cr.volces.com`,
 * `*azurecr.io` → `azurecr.io`; anything else unchanged.
 */
export function normalizeRecognizedHostname(hostname: string): string {
  const canary = CANARY[hostname];
  if (canary) return canary;
  if (hostname !== ECR_PUBLIC_HOSTNAME && nvcfRecognition(hostname).recognized) return ECR_PRIVATE_GENERIC;
  if (hostname.endsWith('.cr.volces.com')) return 'cr.volces.com';
  if (hostname.endsWith('azurecr.io')) return 'azurecr.io';
  return hostname;
}

/** The recognized registry's display name for `hostname` under `type`, or undefined when NVCF refuses it. */
export function recognizedRegistryName(type: ArtifactType, hostname: string): string | undefined {
  const normalized = normalizeRecognizedHostname(hostname);
  return RECOGNIZED_REGISTRIES[type].find((r) => r.hostname === normalized)?.name;
}

/**
 * Which AWS registry a credential's hostname is, for the remote credential check
 * (`EcrCredentialValidationService`).
 */
export type EcrTarget =
  | { kind: 'private'; accountId: string; region: string }
  | { kind: 'public' }
  | undefined;

export function ecrTarget(hostname: string): EcrTarget {
  if (hostname === ECR_PUBLIC_HOSTNAME) return { kind: 'public' };
  // `EcrRegistryUtils.ECR_PRIVATE_HOSTNAME_REGION_PATTERN`: the region is the fourth label (the account, the
  // first, is what the registry's repositories belong to).
  const m = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com$/.exec(hostname);
  return m?.[1] && m[2] ? { kind: 'private', accountId: m[1], region: m[2] } : undefined;
}

/**
 * `RegistryCredentialFunctionService.getRegistryHostname`: prefix `https://` unless the URL starts with
 * `oci://` or `http`, then take `URI.getHost()` — so a port or user-info is dropped and the case is kept.
 * Returns undefined where Java's URI would have no host.
 */
export function hostOfArtifactUrl(url: string): string | undefined {
  const normalized = url.startsWith('oci://') || url.startsWith('http') ? url : `https://${url}`;
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(normalized);
  if (!scheme) return undefined;
  const rest = normalized.slice(scheme[0].length);
  const end = rest.search(/[/?#]/);
  let authority = end >= 0 ? rest.slice(0, end) : rest;
  const at = authority.lastIndexOf('@');
  if (at >= 0) authority = authority.slice(at + 1);
  authority = authority.replace(/:\d*$/, '');
  if (!/^[A-Za-z0-9.-]+$/.test(authority) || authority.startsWith('.') || authority.startsWith('-'))
    return undefined;
  return authority;
}
