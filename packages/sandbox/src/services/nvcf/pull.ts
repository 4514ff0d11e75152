import { createHash } from 'node:crypto';
import { decodeRegistrySecret, maskAccessKeyId } from '@nvcf-ecr/core/credential';
import { servesRegion } from '../../auth/authenticate.ts';
import { SandboxError } from '../../errors.ts';
import type { World } from '../../world.ts';
import type { NvcfBackend } from './backend.ts';
import { getEcrToken } from './ecr-auth.ts';
import { type CredentialRecord, DEFAULT_NCA_ID } from './records.ts';
import { ecrTarget, hostOfArtifactUrl } from './registries.ts';

/**
 * `POST /_sandbox/nvcf/pull {image, ncaId?}`: what NVCF does when it starts an instance of a function whose
 * `containerImage` is `image` (`NVIDIA/nvcf`: `getContainerRegistryCredentialDetails`,
 * `getRegistryImagePullSecrets`). It takes every CONTAINER credential of the
 * account whose `registryHostname` equals the image's host exactly, and for each (NVCF hands them all to the
 * compute plane, which succeeds if any works): decodes the secret NVCF currently serves (the stale one in
 * stale-cache mode), exchanges it for an ECR token with `GetAuthorizationToken` through the SDK, then fetches
 * the manifest from the sandbox registry (`Authorization: Basic <token>`, as the ECR credential helper does).
 * An image in a registry the sandbox does not hold (another account's, or a region outside its partition) is
 * refused with the reason rather than pulled from the sandbox's own repositories. The answer never contains a
 * secret: keys appear masked (`AKIA…WXYZ`).
 */

export type PullResult =
  | { ok: true; credentialId: string; digest: string; mediaType: string | undefined; stale: boolean }
  | { ok: false; error: string; attempts: { credentialId: string; stale: boolean; error: string }[] };

/** Every manifest type a container runtime accepts (OCI and Docker, single and index). */
const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

export interface ImageParts {
  host: string;
  repository: string;
  reference: string;
}

/** Splits `host/repo[:tag][@digest]` the way a container runtime does; the host as NVCF extracts it. */
export function parseImage(image: string): ImageParts {
  const host = hostOfArtifactUrl(image);
  const withoutScheme = image.replace(/^[A-Za-z][A-Za-z0-9+.-]*:\/\//, '');
  const slash = withoutScheme.indexOf('/');
  if (!host || slash < 0)
    throw new SandboxError(`image '${image}' is not <registry>/<repository>[:tag][@digest]`);
  let path = withoutScheme.slice(slash + 1);
  let reference: string;
  const at = path.indexOf('@');
  if (at >= 0) {
    reference = path.slice(at + 1);
    path = path.slice(0, at);
  } else {
    const colon = path.lastIndexOf(':');
    reference = colon > path.lastIndexOf('/') && colon >= 0 ? path.slice(colon + 1) : 'latest';
    if (colon > path.lastIndexOf('/') && colon >= 0) path = path.slice(0, colon);
  }
  if (path === '' || reference === '')
    throw new SandboxError(`image '${image}' has no repository or reference`);
  return { host, repository: path, reference };
}

export async function simulatePull(world: World, backend: NvcfBackend, body: unknown): Promise<PullResult> {
  const b = (body ?? {}) as { image?: unknown; ncaId?: unknown };
  if (typeof b.image !== 'string' || b.image === '')
    throw new SandboxError('body must be {"image": "<registry>/<repository>:<tag>"}');
  const ncaId = typeof b.ncaId === 'string' ? b.ncaId : DEFAULT_NCA_ID;
  const image = parseImage(b.image);
  const candidates = backend.containerCredentialsFor(ncaId, image.host);
  if (candidates.length === 0) {
    // NVCF's deploy-time message (`RegistryArtifactValidationService`).
    return {
      ok: false,
      error: `Missing CONTAINER registry credential for hostname '${image.host}'`,
      attempts: [],
    };
  }
  const unserved = unservedRegistry(world, image.host);
  if (unserved) return { ok: false, error: unserved, attempts: [] };
  const attempts: { credentialId: string; stale: boolean; error: string }[] = [];
  for (const credential of candidates) {
    const outcome = await pullWith(world, backend, credential, image);
    if (outcome.ok) return outcome;
    attempts.push({
      credentialId: credential.registryCredentialId,
      stale: outcome.stale,
      error: outcome.error,
    });
  }
  const error =
    attempts.length === 1
      ? (attempts[0]?.error ?? '')
      : attempts.map((a) => `${a.credentialId}: ${a.error}`).join('; ');
  return { ok: false, error, attempts };
}

/**
 * Why the sandbox cannot serve the private ECR registry `host` names, or undefined when it can. The sandbox
 * emulates one account, in every region of its partition (`servesRegion`, the rule its AWS endpoint applies to
 * credential scopes). NVCF's real pull of another account's image goes to that account's registry, whose
 * repositories (and the repository policies that could let this key pull) the sandbox does not have; serving
 * the sandbox's own repository of the same name instead would report a pull that fails for real as a success.
 *
 * Checked here rather than in the registry listener: the listener is one address (127.0.0.1:port) for every
 * client, skopeo included, so a request to it does not say which registry host it means — it serves the
 * token's region of the one account — whereas the pull knows the image's host. Checked after the credential
 * lookup (NVCF refuses a deployment without a credential for the host first) and before any attempt, since no
 * credential can make such a pull succeed.
 */
export function unservedRegistry(world: World, host: string): string | undefined {
  const target = ecrTarget(host);
  // public.ecr.aws is refused per attempt below; a host that is no ECR registry fails at the token exchange.
  if (target?.kind !== 'private') return undefined;
  const where = `registry ${host} is not served by this sandbox (account ${world.accountId}, partition ${world.partition})`;
  if (target.accountId !== world.accountId) {
    return `${where}: it is account ${target.accountId}'s registry, and the sandbox emulates one account without cross-account repository policies, so NVCF's pull would fail`;
  }
  if (!servesRegion(world, target.region)) {
    return `${where}: region ${target.region} is not a region of partition ${world.partition}`;
  }
  return undefined;
}

async function pullWith(
  world: World,
  backend: NvcfBackend,
  credential: CredentialRecord,
  image: ImageParts,
): Promise<Extract<PullResult, { ok: true }> | { ok: false; stale: boolean; error: string }> {
  const served = backend.servedSecret(credential);
  const outcome = await pullWithSecret(world, credential.registryHostname, served.value, image);
  return outcome.ok
    ? {
        ok: true,
        credentialId: credential.registryCredentialId,
        digest: outcome.digest,
        mediaType: outcome.mediaType,
        stale: served.stale,
      }
    : { ok: false, stale: served.stale, error: outcome.error };
}

export type SecretPullOutcome =
  | { ok: true; digest: string; mediaType: string | undefined }
  | { ok: false; error: string };

/**
 * One pull of `image` with a registry secret (base64 `username:password`) as the compute plane makes it: the
 * key exchanged for an ECR token through the sandbox's AWS endpoint (so an inactive, deleted or not yet
 * propagated key fails, and IAM records the key's use), then the manifest fetched with that token.
 */
export async function pullWithSecret(
  world: World,
  hostname: string,
  secretValue: string,
  image: ImageParts,
): Promise<SecretPullOutcome> {
  let username: string;
  let password: string;
  try {
    ({ username, password } = decodeRegistrySecret(secretValue, hostname));
  } catch {
    return { ok: false, error: 'the stored credential is not base64 username:password' };
  }
  const key = maskAccessKeyId(username);
  const token = await getEcrToken(world, hostname, username, password);
  if (!token.ok) {
    const why = token.code ?? (token.status === undefined ? token.body : `HTTP ${token.status}`);
    return { ok: false, error: `ECR GetAuthorizationToken refused key ${key}: ${why}` };
  }
  if (image.host === 'public.ecr.aws') {
    return {
      ok: false,
      error:
        'pulls from public.ecr.aws are not emulated: the sandbox registry serves private repositories only',
    };
  }
  let res: Response;
  try {
    res = await fetch(`${world.endpoints.registry}/v2/${image.repository}/manifests/${image.reference}`, {
      headers: { authorization: `Basic ${token.authorizationToken}`, accept: MANIFEST_ACCEPT },
    });
  } catch (err) {
    return { ok: false, error: `the sandbox registry did not answer: ${(err as Error).message}` };
  }
  const bytes = Buffer.from(await res.arrayBuffer());
  if (res.status !== 200) {
    return {
      ok: false,
      error: `registry answered ${res.status}${registryErrorOf(bytes)} for ${image.repository}@${image.reference} with key ${key}`,
    };
  }
  const digest =
    res.headers.get('docker-content-digest') ?? `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  return { ok: true, digest, mediaType: res.headers.get('content-type') ?? undefined };
}

/** ` MANIFEST_UNKNOWN: <message>` from an OCI error body, or nothing. */
function registryErrorOf(bytes: Buffer): string {
  try {
    const body = JSON.parse(bytes.toString('utf8')) as { errors?: { code?: unknown; message?: unknown }[] };
    const e = body.errors?.[0];
    if (e && typeof e.code === 'string')
      return ` ${e.code}${typeof e.message === 'string' ? `: ${e.message}` : ''}`;
  } catch {
    // Not JSON: the status says enough.
  }
  return '';
}
