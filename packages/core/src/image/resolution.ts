/**
 * The contract of a resolution: the bounds it keeps against hostile or broken index trees, the options a
 * caller passes, and the {@link ResolvedImage} it returns. Apart from the engine (`resolve.ts`) so the
 * sources and the audit can read the bounds and the result shape without the engine.
 */
import type { ManifestBlob } from './fetcher.ts';

/**
 * Most index levels on a path from the root to an image: the root index is level 1, an index inside it
 * level 2, and so on. The OCI spec shows one level of nesting
 * (opencontainers/image-spec:image-index.md); 4 leaves room while keeping
 * a hostile index tree small.
 */
export const MAX_INDEX_DEPTH = 4;
/** Most manifests (indexes included, the root too) fetched in one resolution. */
export const MAX_MANIFESTS = 256;
/** Largest manifest or index accepted: 4 MiB, the limit registries such as distribution apply. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
/** Largest config blob read: real configs are a few KiB, with long histories well under 1 MiB. */
export const MAX_CONFIG_BYTES = 1024 * 1024;
/** Config blobs fetched at once (each is a GetDownloadUrlForLayer + GET against ECR). */
export const CONFIG_FETCH_CONCURRENCY = 8;

export type ImageKind = 'index' | 'image' | 'artifact';

export interface IgnoredEntry {
  digest: string;
  mediaType?: string;
  platform?: string;
  reason: string;
}

export interface PlatformMismatch {
  digest: string;
  declared: string;
  actual: string;
}

export interface ResolvedChild {
  digest: string;
  platform: string;
  mediaType: string;
}

/** What an image resolves to: the JSON contract of `check --json`, the validation event and the audit. */
export interface ResolvedImage {
  digest: string;
  mediaType: string;
  kind: ImageKind;
  /**
   * Runnable platforms, normalised `os/arch[/variant]`, de-duplicated, in index order (nested indexes
   * expanded in place): what each index entry declares (its config's platform when it declares none), and
   * only for entries whose config agrees; an entry listed in `mismatches` counts for no platform. Empty for
   * a Docker schema1 manifest, which current runtimes refuse to pull.
   */
  platforms: string[];
  /** Runnable manifests found: an index's image children at any depth, or the single manifest itself. */
  children: ResolvedChild[];
  /** Entries (or, for an artifact, the root itself) that are not runnable images, with the reason. */
  ignored: IgnoredEntry[];
  /**
   * Index entries whose declared platform differs from their config's: one per entry (two entries pointing at
   * one manifest with different declared platforms are two records), identical repeats listed once.
   */
  mismatches: PlatformMismatch[];
  /** amd64 v2+ / arm64 v8.x+ variants, entries without a platform, missing children that were tolerated... */
  warnings: string[];
}

export interface ResolveOptions {
  /** The root manifest when the caller already has it (e.g. from resolving a tag), so it is not fetched twice. */
  root?: ManifestBlob | undefined;
  /**
   * What to do when an index child or its config does not exist. `error` (default) throws
   * `ManifestError('not-found')`: right after a push that usually means "retry" (our pessimistic assumption).
   * `ignore` records the entry in `ignored` with a `missing:` reason and a warning, so the audit can report
   * "index child missing" as a finding while still judging the platforms that exist.
   */
  missingChildren?: 'error' | 'ignore';
  /**
   * Check that every manifest and blob hashes to its digest (default true). Turn it off only for parser
   * tests over hand-written manifests with made-up digests (containers/image:manifest/fixtures);
   * it is what makes loops impossible with honest content, so loop detection is tested with it off.
   */
  verifyDigests?: boolean;
  /** Config blobs fetched at once (default {@link CONFIG_FETCH_CONCURRENCY}). */
  concurrency?: number;
}
