import { createHash } from 'node:crypto';
import { MANIFEST_MEDIA_TYPES } from '../ecr/manifest.ts';

/**
 * Fetching a manifest the way a container runtime does when NVCF starts an instance: `GET
 * /v2/<repository>/manifests/<reference>` on the registry with `Authorization: Basic <authorizationToken>`
 * (the base64 string from GetAuthorizationToken, used as is:
 * https://docs.aws.amazon.com/AmazonECR/latest/userguide/registry_auth.html) and every manifest type in `Accept`.
 * The HTTP exchange is the contract: other emulators (the NVCF module's `POST nvcf/pull`) call this against the
 * registry listener rather than reading the storage, so a pull fails exactly when a real one would.
 */

export type ManifestPull =
  | { readonly ok: true; readonly digest: string; readonly mediaType: string; readonly manifest: string }
  | { readonly ok: false; readonly status: number; readonly code: string; readonly error: string };

export interface FetchManifestOptions {
  /** Registry base URL (the sandbox's `endpoints.registry`, or GetAuthorizationToken's `proxyEndpoint`). */
  registry: string;
  /** `authorizationToken` from GetAuthorizationToken (base64 of `AWS:<password>`). */
  authorizationToken: string;
  repository: string;
  /** Tag or digest. */
  reference: string;
  fetch?: typeof globalThis.fetch;
}

export async function fetchManifest(options: FetchManifestOptions): Promise<ManifestPull> {
  const doFetch = options.fetch ?? globalThis.fetch;
  const url = `${options.registry.replace(/\/+$/, '')}/v2/${options.repository}/manifests/${encodeURIComponent(options.reference)}`;
  let res: Response;
  try {
    res = await doFetch(url, {
      headers: {
        authorization: `Basic ${options.authorizationToken}`,
        accept: MANIFEST_MEDIA_TYPES.join(', '),
      },
    });
  } catch (err) {
    return {
      ok: false,
      status: 0,
      code: 'UNREACHABLE',
      error: `registry ${options.registry} is unreachable: ${(err as Error).message}`,
    };
  }
  const text = await res.text();
  if (!res.ok) {
    let code = `HTTP_${res.status}`;
    let message = text.slice(0, 500);
    try {
      const first = (JSON.parse(text) as { errors?: { code?: string; message?: string }[] }).errors?.[0];
      if (first?.code) code = first.code;
      if (first?.message) message = first.message;
    } catch {
      // Not an OCI error body: keep the raw text.
    }
    return {
      ok: false,
      status: res.status,
      code,
      error: `${code.toLowerCase().replace(/_/g, ' ')}: ${message}`,
    };
  }
  const digest =
    res.headers.get('docker-content-digest') ?? `sha256:${createHash('sha256').update(text).digest('hex')}`;
  return { ok: true, digest, mediaType: res.headers.get('content-type') ?? '', manifest: text };
}
