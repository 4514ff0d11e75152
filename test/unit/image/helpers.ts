/**
 * Test helpers for the manifest engine: an in-memory, content-addressed repository that records every
 * fetch (so tests count round trips), and builders for configs, manifests and indexes with real digests.
 */
import { createHash } from 'node:crypto';
import { ManifestError } from '@nvcf-ecr/core/errors';
import {
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  type ImageFetcher,
  type ManifestBlob,
  OCI_CONFIG,
  OCI_INDEX,
  OCI_MANIFEST,
} from '@nvcf-ecr/core/image';

export interface Desc {
  mediaType: string;
  digest: string;
  size: number;
}

export interface PlatformSpec {
  os: string;
  architecture: string;
  variant?: string;
}

export interface EntrySpec extends Desc {
  platform?: PlatformSpec | undefined;
  annotations?: Record<string, string>;
  artifactType?: string;
}

export function digestOf(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export function encode(value: unknown): Uint8Array {
  return typeof value === 'string'
    ? new TextEncoder().encode(value)
    : new TextEncoder().encode(JSON.stringify(value));
}

/** In-memory repository implementing {@link ImageFetcher}, with call records. */
export class MemoryRepo implements ImageFetcher {
  public readonly manifests = new Map<string, ManifestBlob>();
  public readonly blobs = new Map<string, Uint8Array>();
  /** The digests of every getManifests call, in order. */
  public readonly manifestCalls: string[][] = [];
  /** The digest of every getBlob call, in order. */
  public readonly blobCalls: string[] = [];
  /** Whether getManifests reports media types (ECR does; an OCI layout does only for index.json entries). */
  public reportMediaTypes = true;
  /** Most getBlob calls in flight at once. */
  public maxInFlight = 0;
  private inFlight = 0;

  /** Stores a blob (JSON value, string or bytes) content-addressed. */
  public blob(content: unknown, mediaType = OCI_CONFIG): Desc {
    const bytes = content instanceof Uint8Array ? content : encode(content);
    const digest = digestOf(bytes);
    this.blobs.set(digest, bytes);
    return { mediaType, digest, size: bytes.length };
  }

  /** Stores a manifest (JSON value, string or bytes) content-addressed. */
  public manifest(content: unknown, mediaType: string): Desc {
    const bytes = content instanceof Uint8Array ? content : encode(content);
    const digest = digestOf(bytes);
    this.manifests.set(digest, { digest, mediaType, bytes });
    return { mediaType, digest, size: bytes.length };
  }

  public config(p: PlatformSpec, extra: Record<string, unknown> = {}, mediaType = OCI_CONFIG): Desc {
    return this.blob({ ...p, rootfs: { type: 'layers', diff_ids: [] }, ...extra }, mediaType);
  }

  /** An image manifest (OCI unless `mediaType` says Docker) whose config declares `p`. */
  public image(
    p: PlatformSpec,
    options: { mediaType?: string; config?: Desc; extra?: Record<string, unknown> } = {},
  ): Desc {
    const mediaType = options.mediaType ?? OCI_MANIFEST;
    const config =
      options.config ??
      this.config(
        p,
        {},
        mediaType === DOCKER_MANIFEST ? 'application/vnd.docker.container.image.v1+json' : OCI_CONFIG,
      );
    return this.manifest({ schemaVersion: 2, mediaType, config, layers: [], ...options.extra }, mediaType);
  }

  public index(
    entries: EntrySpec[],
    options: { mediaType?: string; extra?: Record<string, unknown> } = {},
  ): Desc {
    const mediaType = options.mediaType ?? OCI_INDEX;
    return this.manifest({ schemaVersion: 2, mediaType, manifests: entries, ...options.extra }, mediaType);
  }

  public async getManifests(digests: readonly string[]): Promise<Map<string, ManifestBlob>> {
    this.manifestCalls.push([...digests]);
    await Promise.resolve();
    const out = new Map<string, ManifestBlob>();
    for (const d of digests) {
      const m = this.manifests.get(d);
      if (m) out.set(d, this.reportMediaTypes ? m : { ...m, mediaType: undefined });
    }
    return out;
  }

  public async getBlob(digest: string, maxBytes: number): Promise<Uint8Array> {
    this.blobCalls.push(digest);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      // Yield a few times so that concurrent calls really overlap.
      for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
      const bytes = this.blobs.get(digest);
      if (!bytes) throw new ManifestError('not-found', `blob ${digest} not found`, digest);
      if (bytes.length > maxBytes)
        throw new ManifestError('too-large', `blob ${digest} is too large`, digest);
      return bytes;
    } finally {
      this.inFlight--;
    }
  }

  /** Total fetches of any kind. */
  public get fetches(): number {
    return this.manifestCalls.length + this.blobCalls.length;
  }
}

/** An index entry for `d` declaring `platform`. */
export function entry(d: Desc, platform?: PlatformSpec, more: Partial<EntrySpec> = {}): EntrySpec {
  return { ...d, ...(platform ? { platform } : {}), ...more };
}

export const AMD64: PlatformSpec = { os: 'linux', architecture: 'amd64' };
export const ARM64: PlatformSpec = { os: 'linux', architecture: 'arm64' };
export const UNKNOWN: PlatformSpec = { os: 'unknown', architecture: 'unknown' };
export { DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST };

/** Runs `fn` and returns what it threw (fails the test when it does not throw). */
export async function thrown(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to throw, but it returned');
}
