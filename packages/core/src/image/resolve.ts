import { ManifestError } from '../errors.ts';
import { digestProblem, verifyDigest } from './digest.ts';
import type { ImageFetcher, ManifestBlob } from './fetcher.ts';
import {
  artifactReason,
  type ContentDescriptor,
  indexEntryIgnoreReason,
  type ParsedManifest,
  parseConfigPlatform,
  parseManifest,
} from './manifest.ts';
import { isImageConfigMediaType } from './media-types.ts';
import { loopError, schema1Reason, sourceFailure, tooLargeConfig, tooLargeManifest } from './refusals.ts';
import {
  CONFIG_FETCH_CONCURRENCY,
  MAX_CONFIG_BYTES,
  MAX_INDEX_DEPTH,
  MAX_MANIFEST_BYTES,
  MAX_MANIFESTS,
  type ResolvedImage,
  type ResolveOptions,
} from './resolution.ts';
import { artifactResult, assembleIndex, schema1Result, singleResult } from './resolve-results.ts';
import {
  type ConfigJob,
  ignored,
  imageOutcome,
  type Outcome,
  type Pending,
  rejectCycles,
  type Slot,
} from './resolve-tree.ts';

export * from './resolution.ts';

/**
 * The manifest engine: resolves an image (index, manifest list, single manifest, schema1, artifact) to the
 * platforms it can run on: index → child manifests → config blobs. All I/O goes through an
 * {@link ImageFetcher}.
 *
 * Round trips: each level of an index tree costs ONE `getManifests` call for all of that level's
 * children, then their config blobs concurrently (at most {@link CONFIG_FETCH_CONCURRENCY} at a time).
 * Nothing is fetched twice within one resolution.
 */

/**
 * Resolves the image whose root manifest is `digest`.
 *
 * Throws {@link ManifestError} for malformed content or exceeded bounds (`invalid-json`,
 * `invalid-manifest`, `unsupported-media-type`, `digest-mismatch`, `too-deep`, `too-large`,
 * `too-many-manifests`, `loop`, `not-found`, `invalid-config`) and {@link ImageSourceError} when the
 * source fails. Artifacts and empty indexes are results (kind `artifact`, or no platforms), not errors.
 *
 * Loops: any cycle among the indexes (one listing itself, or an ancestor, or two listing each other)
 * throws `ManifestError('loop')` (decided over "record it as ignored"). With verified
 * digests a loop cannot be built (it would need a hash fixpoint); one that appears anyway means the source
 * serves wrong content, which must be an error rather than a quietly smaller platform list. The regclient
 * `loop` tag is a cycle through `subject` (a referrer index of its own child), which the engine never follows.
 *
 * @example
 * const resolved = await resolveImage(fetcher, 'sha256:119b4a63…');
 * resolved.platforms; // ['linux/amd64', 'linux/arm64', 'linux/arm/v7', 'linux/arm/v6']
 */
export async function resolveImage(
  fetcher: ImageFetcher,
  digest: string,
  options: ResolveOptions = {},
): Promise<ResolvedImage> {
  return new Resolution(fetcher, options).run(digest);
}

class Resolution {
  private readonly fetcher: ImageFetcher;
  private readonly missingChildren: 'error' | 'ignore';
  private readonly verify: boolean;
  private readonly concurrency: number;
  private readonly root: ManifestBlob | undefined;
  /** Every manifest fetched so far, by digest (never fetched twice). */
  private readonly blobs = new Map<string, ManifestBlob>();
  /** Parsed manifests by digest (verified and parsed once). */
  private readonly parsed = new Map<string, ParsedManifest>();
  /** Config platforms by config digest (fetched once, shared by every manifest using the config). */
  private readonly configs = new Map<string, Promise<ReturnType<typeof parseConfigPlatform>>>();
  /** Indexes already expanded: a second occurrence adds nothing (platforms and children are de-duplicated). */
  private readonly expanded = new Set<string>();
  /** Index → the indexes it lists, to find cycles that skipped expansions would hide from the path check. */
  private readonly indexEdges = new Map<string, Set<string>>();
  private readonly warnings = new Set<string>();

  public constructor(fetcher: ImageFetcher, options: ResolveOptions) {
    this.fetcher = fetcher;
    this.missingChildren = options.missingChildren ?? 'error';
    this.verify = options.verifyDigests ?? true;
    this.concurrency = Math.max(1, options.concurrency ?? CONFIG_FETCH_CONCURRENCY);
    this.root = options.root;
  }

  public async run(digest: string): Promise<ResolvedImage> {
    const problem = digestProblem(digest);
    if (problem) throw new ManifestError('invalid-manifest', `cannot resolve ${digest}: ${problem}`, digest);
    if (this.root !== undefined && this.root.digest === digest) this.blobs.set(digest, this.root);
    else await this.fetchManifests([digest]);
    if (!this.blobs.has(digest)) {
      throw new ManifestError(
        'not-found',
        `manifest ${digest} was not found: check the tag or digest and that it was pushed`,
        digest,
      );
    }
    const root = this.open(digest, undefined);
    const reason = artifactReason(root);
    if (reason !== undefined) return artifactResult(root, reason, this.warnings);
    switch (root.kind) {
      case 'index':
        return this.resolveIndex(root);
      case 'schema1':
        return schema1Result(root, this.warnings);
      case 'image':
        return this.resolveSingle(root);
      default:
        return artifactResult(root, `artifact: ${root.mediaType} is not a runnable image`, this.warnings);
    }
  }

  private async resolveSingle(root: ParsedManifest & { kind: 'image' }): Promise<ResolvedImage> {
    if (!isImageConfigMediaType(root.config.mediaType)) {
      return artifactResult(
        root,
        `artifact: config media type ${root.config.mediaType} is not an image config`,
        this.warnings,
      );
    }
    const config = await this.loadConfig(root.config);
    if (config.platform === undefined)
      return artifactResult(root, `artifact: ${config.reason}`, this.warnings);
    return singleResult(root, config.platform, this.warnings);
  }

  private async resolveIndex(root: ParsedManifest & { kind: 'index' }): Promise<ResolvedImage> {
    const top: Outcome & { type: 'index' } = { type: 'index', slots: [] };
    const ancestors = new Set([root.digest]);
    this.expanded.add(root.digest);
    let level: Pending[] = root.manifests.map((entry) => this.pending(top, root.digest, entry, ancestors, 1));
    while (level.length > 0) level = await this.resolveLevel(level);
    rejectCycles(this.indexEdges);
    return assembleIndex(root, top, this.warnings);
  }

  private pending(
    into: Outcome & { type: 'index' },
    parent: string,
    entry: ContentDescriptor,
    ancestors: ReadonlySet<string>,
    depth: number,
  ): Pending {
    const slot: Slot = { outcome: undefined };
    into.slots.push(slot);
    return { entry, parent, ancestors, depth, slot };
  }

  /** Opens one level of index entries; returns the entries of the nested indexes found (the next level). */
  private async resolveLevel(level: Pending[]): Promise<Pending[]> {
    const open: Pending[] = [];
    for (const p of level) {
      const reason = indexEntryIgnoreReason(p.entry);
      if (reason !== undefined) {
        p.slot.outcome = ignored(p.entry, reason);
        continue;
      }
      if (p.ancestors.has(p.entry.digest)) throw loopError(p.entry.digest);
      if (p.entry.size !== undefined && p.entry.size > MAX_MANIFEST_BYTES)
        throw tooLargeManifest(p.entry.digest, p.entry.size);
      open.push(p);
    }
    await this.fetchManifests(open.map((p) => p.entry.digest));

    const next: Pending[] = [];
    const jobs: ConfigJob[] = [];
    for (const p of open) {
      const { entry } = p;
      if (!this.blobs.has(entry.digest)) {
        this.missing(p, `missing: child manifest ${entry.digest} was not found in the source`);
        continue;
      }
      const child = this.open(entry.digest, entry.mediaType);
      const artifact = artifactReason(child);
      if (artifact !== undefined) {
        p.slot.outcome = ignored(entry, artifact, child.mediaType);
        continue;
      }
      switch (child.kind) {
        case 'index': {
          if (p.depth + 1 > MAX_INDEX_DEPTH) {
            throw new ManifestError(
              'too-deep',
              `index ${child.digest} is nested ${p.depth + 1} levels deep; at most ${MAX_INDEX_DEPTH} levels of indexes are followed`,
              child.digest,
            );
          }
          const nested: Outcome & { type: 'index' } = { type: 'index', slots: [] };
          p.slot.outcome = nested;
          const edges = this.indexEdges.get(p.parent) ?? new Set<string>();
          edges.add(child.digest);
          this.indexEdges.set(p.parent, edges);
          // Expanding the same index twice would only repeat its entries, and a tree of shared indexes
          // would grow exponentially; one expansion is enough.
          if (this.expanded.has(child.digest)) break;
          this.expanded.add(child.digest);
          const ancestors = new Set([...p.ancestors, child.digest]);
          for (const e of child.manifests)
            next.push(this.pending(nested, child.digest, e, ancestors, p.depth + 1));
          break;
        }
        case 'schema1':
          p.slot.outcome = ignored(entry, schema1Reason(child.digest), child.mediaType);
          break;
        case 'image':
          if (!isImageConfigMediaType(child.config.mediaType)) {
            p.slot.outcome = ignored(
              entry,
              `artifact: config media type ${child.config.mediaType} is not an image config`,
              child.mediaType,
            );
          } else {
            jobs.push({
              pending: p,
              manifestDigest: child.digest,
              mediaType: child.mediaType,
              config: child.config,
            });
          }
          break;
        default:
          p.slot.outcome = ignored(
            entry,
            `artifact: ${child.mediaType} is not a runnable image`,
            child.mediaType,
          );
      }
    }
    await mapLimit(jobs, this.concurrency, async (job) => {
      let config: Awaited<ReturnType<typeof parseConfigPlatform>>;
      try {
        config = await this.loadConfig(job.config);
      } catch (err) {
        if (err instanceof ManifestError && err.code === 'not-found' && this.missingChildren === 'ignore') {
          this.missing(
            job.pending,
            `missing: config ${job.config.digest} of ${job.manifestDigest} was not found in the source`,
          );
          return;
        }
        throw err;
      }
      job.pending.slot.outcome =
        config.platform === undefined
          ? ignored(job.pending.entry, config.reason, job.mediaType)
          : imageOutcome(job.pending, job.mediaType, config.platform, this.warnings);
    });
    return next;
  }

  private missing(p: Pending, reason: string): void {
    if (this.missingChildren === 'error') {
      throw new ManifestError(
        'not-found',
        `${reason.replace(/^missing: /, '')}: the index refers to content that does not exist`,
        p.entry.digest,
      );
    }
    p.slot.outcome = ignored(p.entry, reason);
    this.warnings.add(`${reason.replace(/^missing: /, '')}; its platform was not counted`);
  }

  /** Verifies and parses a fetched manifest (once per digest). */
  private open(digest: string, descriptorMediaType: string | undefined): ParsedManifest {
    const known = this.parsed.get(digest);
    if (known) return known;
    const blob = this.blobs.get(digest) as ManifestBlob;
    if (blob.bytes.length > MAX_MANIFEST_BYTES) throw tooLargeManifest(digest, blob.bytes.length);
    if (this.verify) verifyDigest(digest, blob.bytes, 'manifest', blob.mediaType);
    const { manifest, warnings } = parseManifest(blob.bytes, digest, {
      fetched: blob.mediaType,
      descriptor: descriptorMediaType,
    });
    for (const w of warnings) this.warnings.add(w);
    this.parsed.set(digest, manifest);
    return manifest;
  }

  /** One `getManifests` call for every digest not fetched yet. */
  private async fetchManifests(digests: readonly string[]): Promise<void> {
    const need = [...new Set(digests)].filter((d) => !this.blobs.has(d));
    if (need.length === 0) return;
    if (this.blobs.size + need.length > MAX_MANIFESTS) {
      throw new ManifestError(
        'too-many-manifests',
        `resolving this image would fetch more than ${MAX_MANIFESTS} manifests; an index this large is refused`,
        need[0],
      );
    }
    let got: Map<string, ManifestBlob>;
    try {
      got = await this.fetcher.getManifests(need);
    } catch (err) {
      throw sourceFailure(err, `fetching manifest${need.length > 1 ? 's' : ''} ${need.join(', ')}`);
    }
    for (const d of need) {
      const blob = got.get(d);
      if (blob) this.blobs.set(d, blob);
    }
  }

  private loadConfig(config: ContentDescriptor): Promise<ReturnType<typeof parseConfigPlatform>> {
    let pending = this.configs.get(config.digest);
    if (!pending) {
      pending = this.fetchConfig(config);
      // A rejected promise cached here is awaited by every job that shares the config; mark it handled so
      // a rejection seen by one job is not also reported as unhandled for the others.
      pending.catch(() => undefined);
      this.configs.set(config.digest, pending);
    }
    return pending;
  }

  private async fetchConfig(config: ContentDescriptor): Promise<ReturnType<typeof parseConfigPlatform>> {
    if (config.size !== undefined && config.size > MAX_CONFIG_BYTES)
      throw tooLargeConfig(config.digest, config.size);
    let bytes: Uint8Array;
    try {
      bytes = await this.fetcher.getBlob(config.digest, MAX_CONFIG_BYTES);
    } catch (err) {
      throw sourceFailure(err, `fetching config ${config.digest}`);
    }
    if (bytes.length > MAX_CONFIG_BYTES) throw tooLargeConfig(config.digest, bytes.length);
    if (this.verify) verifyDigest(config.digest, bytes, 'config');
    return parseConfigPlatform(bytes, config.digest);
  }
}

/** Runs `fn` over `items` with at most `limit` in flight; rejects with the first failure. */
async function mapLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
