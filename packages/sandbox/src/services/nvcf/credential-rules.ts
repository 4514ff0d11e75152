/**
 * NVCF's checks on a registry credential (`RegistryCredentialService`, `RegistryCredentialFunctionService`):
 * secret format, recognised registry, unique name per hostname, and which function versions use it. Pure
 * functions over the account's credentials, so the backend keeps only state and order.
 */
import { decodeRegistrySecret } from '@nvcf-ecr/core/credential';
import { CredentialCodecError } from '@nvcf-ecr/core/errors';
import { bootProblem, nvcfErrors } from './errors.ts';
import type { CredentialRecord } from './records.ts';
import { type ArtifactType, hostOfArtifactUrl, recognizedRegistryName } from './registries.ts';

/** `validateSecretFormat` via core's codec, which carries NVCF's exact messages. */
export function checkSecretFormat(hostname: string, value: unknown): string {
  try {
    decodeRegistrySecret(value, hostname);
  } catch (err) {
    if (err instanceof CredentialCodecError) throw bootProblem(400, err.message);
    throw err;
  }
  return value as string;
}

export function registryNameFor(types: readonly ArtifactType[], hostname: string): string {
  const names = new Set<string>();
  for (const type of types) {
    const name = recognizedRegistryName(type, hostname);
    if (!name) throw nvcfErrors.notRecognized(type, hostname);
    names.add(name);
  }
  return [...names][0] as string;
}

export function checkUnique(
  inAccount: readonly CredentialRecord[],
  ncaId: string,
  hostname: string,
  name: string,
): void {
  if (inAccount.some((c) => c.registryHostname === hostname && c.registryCredentialName === name)) {
    throw nvcfErrors.alreadyExists(ncaId, name, hostname);
  }
}

/** A rename may not take another credential's name on the same hostname. */
export function checkRename(
  inAccount: readonly CredentialRecord[],
  entity: CredentialRecord,
  name: string,
): void {
  const clash = inAccount.some(
    (c) =>
      c.registryCredentialId !== entity.registryCredentialId &&
      c.registryHostname === entity.registryHostname &&
      c.registryCredentialName === name,
  );
  if (clash)
    throw nvcfErrors.updateConflict(entity.ncaId, entity.registryCredentialId, name, entity.registryHostname);
}

/** `RegistryCredentialFunctionService.matchesArtifact`: a version uses a credential through any of its types. */
export function usesCredential(dto: Record<string, unknown>, c: CredentialRecord): boolean {
  const matches = (url: unknown) =>
    typeof url === 'string' && url.trim() !== '' && hostOfArtifactUrl(url) === c.registryHostname;
  const uris = (list: unknown) =>
    Array.isArray(list)
      ? list.map((m) => (m as { uri?: unknown; url?: unknown })?.uri ?? (m as { url?: unknown })?.url)
      : [];
  return c.artifactTypes.some((t) => {
    if (t === 'CONTAINER') return matches(dto['containerImage']);
    if (t === 'HELM') return matches(dto['helmChart']);
    if (t === 'MODEL') return uris(dto['models']).some(matches);
    return uris(dto['resources']).some(matches);
  });
}
