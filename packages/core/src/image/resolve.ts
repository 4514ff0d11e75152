import { CoreError, ImageSourceError, ManifestError } from '../errors.ts';
import { digestProblem, verifyDigest } from './digest.ts';
import type { ImageFetcher, ManifestBlob } from './fetcher.ts';
import {
  artifactReason,
  type ContentDescriptor,
  describePlatform,
  indexEntryIgnoreReason,
  type ParsedManifest,
  parseConfigPlatform,
  parseManifest,
} from './manifest.ts';
import { isImageConfigMediaType } from './media-types.ts';
import { formatPlatform, type Platform, platformWarnings } from './platform.ts';

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

/** Result slot of one index entry; filled in when its config arrives, so index order is kept. */
interface Slot {
  outcome: Outcome | undefined;
}

type Outcome =
  | { type: 'ignored'; entry: IgnoredEntry }
  | { type: 'image'; child: ResolvedChild; mismatch: PlatformMismatch | undefined }
  | { type: 'index'; slots: Slot[] };

/** An index entry waiting to be opened at the current level. */
interface Pending {
  entry: ContentDescriptor;
  /** Digest of the index that lists this entry. */
  parent: string;
  /** Digests of the indexes above this entry (loop detection). */
  ancestors: ReadonlySet<string>;
  /** Index level of the entry's parent (the root index is 1). */
  depth: number;
  slot: Slot;
}

interface ConfigJob {
  pending: Pending;
  manifestDigest: string;
  mediaType: string;
  config: ContentDescriptor;
}

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
    if (reason !== undefined) return this.artifact(root, reason);
    switch (root.kind) {
      case 'index':
        return this.resolveIndex(root);
      case 'schema1':
        return this.schema1(root);
      case 'image':
        return this.resolveSingle(root);
      default:
        return this.artifact(root, `artifact: ${root.mediaType} is not a runnable image`);
    }
  }

  private async resolveSingle(root: ParsedManifest & { kind: 'image' }): Promise<ResolvedImage> {
    if (!isImageConfigMediaType(root.config.mediaType)) {
      return this.artifact(
        root,
        `artifact: config media type ${root.config.mediaType} is not an image config`,
      );
    }
    const config = await this.loadConfig(root.config);
    if (config.platform === undefined) return this.artifact(root, `artifact: ${config.reason}`);
    return this.single(root, config.platform);
  }

  private single(root: ParsedManifest, platform: Platform): ResolvedImage {
    const p = formatPlatform(platform);
    for (const w of platformWarnings(platform)) this.warnings.add(w);
    return {
      digest: root.digest,
      mediaType: root.mediaType,
      kind: 'image',
      platforms: [p],
      children: [{ digest: root.digest, platform: p, mediaType: root.mediaType }],
      ignored: [],
      mismatches: [],
      warnings: [...this.warnings],
    };
  }

  /** A schema1 root: an image, but one current runtimes refuse to pull, so it offers no platform. */
  private schema1(root: ParsedManifest & { kind: 'schema1' }): ResolvedImage {
    return {
      digest: root.digest,
      mediaType: root.mediaType,
      kind: 'image',
      platforms: [],
      children: [],
      ignored: [
        {
          digest: root.digest,
          mediaType: root.mediaType,
          platform: formatPlatform(root.platform),
          reason: schema1Reason(root.digest),
        },
      ],
      mismatches: [],
      warnings: [...this.warnings],
    };
  }

  private artifact(root: ParsedManifest, reason: string): ResolvedImage {
    return {
      digest: root.digest,
      mediaType: root.mediaType,
      kind: 'artifact',
      platforms: [],
      children: [],
      ignored: [{ digest: root.digest, mediaType: root.mediaType, reason }],
      mismatches: [],
      warnings: [...this.warnings],
    };
  }

  private async resolveIndex(root: ParsedManifest & { kind: 'index' }): Promise<ResolvedImage> {
    const top: Outcome & { type: 'index' } = { type: 'index', slots: [] };
    const ancestors = new Set([root.digest]);
    this.expanded.add(root.digest);
    let level: Pending[] = root.manifests.map((entry) => this.pending(top, root.digest, entry, ancestors, 1));
    while (level.length > 0) level = await this.resolveLevel(level);
    this.rejectCycles();
    return this.assemble(root, top);
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

  /**
   * The path check in {@link resolveLevel} stops a loop as soon as an index lists one of its ancestors.
   * An index listed twice is expanded once, so a cycle between two such indexes can escape that check;
   * this search over every index-to-index edge (at most {@link MAX_MANIFESTS} nodes) catches it.
   */
  private rejectCycles(): void {
    const state = new Map<string, 'open' | 'done'>();
    const visit = (node: string): void => {
      state.set(node, 'open');
      for (const next of this.indexEdges.get(node) ?? []) {
        const s = state.get(next);
        if (s === 'open') throw loopError(next);
        if (s === undefined) visit(next);
      }
      state.set(node, 'done');
    };
    for (const node of this.indexEdges.keys()) if (!state.has(node)) visit(node);
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
          : this.imageOutcome(job.pending, job.mediaType, config.platform);
    });
    return next;
  }

  /**
   * An index entry that is an image counts for the platform it DECLARES, as containerd selects entries by
   * the descriptor's platform and reads the config only when the descriptor has none (`images.Manifest` in
   * containerd's `core/images/image.go`; OCI image-index.md: the platform field describes the image a runtime
   * gets). An entry whose config contradicts its declaration is a mismatch and counts for nothing: a host of
   * the declared platform would pull a binary of the config's ("exec format error"). The config agrees when
   * its os and architecture are the declared ones and its variant, when it has one, is the declared variant
   * (image-spec config.md makes the config's variant optional).
   */
  private imageOutcome(p: Pending, mediaType: string, actual: Platform): Outcome {
    const actualText = formatPlatform(actual);
    const declared = p.entry.platform;
    if (declared === undefined) {
      this.warnings.add(
        `index entry ${p.entry.digest} declares no platform; counted as ${actualText}, from its config`,
      );
    }
    const counted = declared ?? actual;
    const countedText = formatPlatform(counted);
    for (const w of platformWarnings(counted)) this.warnings.add(w);
    const mismatch =
      declared !== undefined && !configAgrees(declared, actual)
        ? { digest: p.entry.digest, declared: countedText, actual: actualText }
        : undefined;
    return { type: 'image', child: { digest: p.entry.digest, platform: countedText, mediaType }, mismatch };
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

  private assemble(root: ParsedManifest, top: Outcome & { type: 'index' }): ResolvedImage {
    const platforms: string[] = [];
    const children: ResolvedChild[] = [];
    const ignoredEntries: IgnoredEntry[] = [];
    const mismatches: PlatformMismatch[] = [];
    const seenChildren = new Set<string>();
    const seenMismatches = new Set<string>();
    const walk = (node: Outcome & { type: 'index' }) => {
      for (const slot of node.slots) {
        const o = slot.outcome;
        if (o === undefined) continue;
        if (o.type === 'ignored') ignoredEntries.push(o.entry);
        else if (o.type === 'index') walk(o);
        else {
          if (!o.mismatch && !platforms.includes(o.child.platform)) platforms.push(o.child.platform);
          if (!seenChildren.has(o.child.digest)) {
            seenChildren.add(o.child.digest);
            children.push(o.child);
          }
          // A mismatch belongs to the index entry, not to the manifest it points at: two entries can point
          // at one manifest and declare different platforms, and each one that contradicts the config is a
          // lie worth reporting. Only an identical (digest, declared, actual) triple is a repeat.
          if (o.mismatch) {
            const key = `${o.mismatch.digest}\n${o.mismatch.declared}\n${o.mismatch.actual}`;
            if (!seenMismatches.has(key)) {
              seenMismatches.add(key);
              mismatches.push(o.mismatch);
            }
          }
        }
      }
    };
    walk(top);
    return {
      digest: root.digest,
      mediaType: root.mediaType,
      kind: 'index',
      platforms,
      children,
      ignored: ignoredEntries,
      mismatches,
      warnings: [...this.warnings],
    };
  }
}

function ignored(entry: ContentDescriptor, reason: string, mediaType?: string): Outcome {
  const platform = describePlatform(entry.platform);
  const out: IgnoredEntry = { digest: entry.digest, mediaType: mediaType ?? entry.mediaType, reason };
  if (platform !== undefined) out.platform = platform;
  return { type: 'ignored', entry: out };
}

function loopError(digest: string): ManifestError {
  return new ManifestError(
    'loop',
    `index ${digest} lists itself (directly or through a nested index): the source serves inconsistent content`,
    digest,
  );
}

/**
 * Why a Docker schema1 manifest is not runnable: containerd 2.0 disabled schema1 pulls and 2.1 removed them
 * (containerd `RELEASES.md`, deprecated features), and Docker Engine 26 refuses them by default
 * (moby/moby pull request 47459; https://docs.docker.com/go/deprecated-image-specs/).
 */
function schema1Reason(digest: string): string {
  return `manifest ${digest} is a legacy Docker schema1 manifest, which containerd 2.0+ and Docker 26+ refuse to pull: rebuild and push it with a current Docker or BuildKit, or convert it with 'skopeo copy --format v2s2'`;
}

/** Whether a config's platform agrees with the one its index entry declares (see `imageOutcome`). */
function configAgrees(declared: Platform, config: Platform): boolean {
  return (
    declared.os === config.os &&
    declared.architecture === config.architecture &&
    (config.variant === '' || config.variant === declared.variant)
  );
}

function tooLargeManifest(digest: string, size: number): ManifestError {
  return new ManifestError(
    'too-large',
    `manifest ${digest} is ${size} bytes; manifests over ${MAX_MANIFEST_BYTES} bytes are refused`,
    digest,
  );
}

function tooLargeConfig(digest: string, size: number): ManifestError {
  return new ManifestError(
    'too-large',
    `config ${digest} is ${size} bytes; configs over ${MAX_CONFIG_BYTES} bytes are refused`,
    digest,
  );
}

/**
 * Errors from a fetcher: ours pass through; anything else is wrapped as a transient source failure (an
 * unclassified failure is most often the network, and retrying a resolution is harmless).
 */
function sourceFailure(err: unknown, what: string): CoreError {
  if (err instanceof CoreError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new ImageSourceError(`${what} failed: ${message}`, true, { cause: err });
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
