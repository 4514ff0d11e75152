import { createHash } from 'node:crypto';
// zod/mini as everywhere in core: the classic 'zod' entry sets its English messages globally, which would
// replace the configuration's own (config/index.ts `describe`).
import * as z from 'zod/mini';
import type { RegistryConfig } from '../config/index.ts';
import { DIGEST } from '../ecr/reference.ts';
import { ManifestError, type ManifestErrorCode } from '../errors.ts';
import type { ResolvedImage } from '../image/resolve.ts';
import type { Logger } from '../log.ts';
import type { ObjectStore } from '../ports/aws.ts';
import { describeFailure } from './facts.ts';

/**
 * What the audit learned about each digest, kept between runs in the report bucket. A digest names immutable
 * content (https://github.com/opencontainers/image-spec/blob/main/descriptor.md#digests): its manifest, the
 * manifests it lists and their configs never change, so neither do the platforms the resolver derives from
 * them nor a verdict such as "malformed index". What can change is *presence* (a child deleted by a lifecycle rule), and presence is never cached:
 * every run lists the repository live, and an entry is used only when every manifest it was built from is
 * still listed. Config blobs need no such check: ECR has no operation that deletes a layer or config, only
 * images (https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_Operations.html).
 *
 * One object per repository (`cache/v<N>/<registry host>/<repository>.json`) holds that repository's
 * entries, each addressed by its digest inside: at 100,000 tags over 20,000 images a warm audit reads 200
 * objects instead of 20,000 (every S3 call costs a round trip and a signature), and the object is
 * rewritten from the live listing, so deleted images leave it by themselves. `<N>` is the resolver's schema
 * version: a change to what the resolver derives bumps it, and old objects are never read again (the
 * stack's lifecycle rule expires them).
 *
 * Nothing read back is trusted on its word. A pack from another format, version, registry or repository is
 * ignored whole; each entry must match the schema below, name the digest it is filed under, and carry a
 * seal (SHA-256 over its canonical JSON) that matches: a truncated, hand-edited or otherwise corrupt entry is
 * dropped, resolved again and rewritten. The seal detects corruption, not a forger with write access to the
 * bucket (who could rewrite the reports just as well); only the audit role may write the prefix.
 */

/** Bump when the resolver's output for the same content changes: old entries are then never read. */
export const RESOLUTION_CACHE_VERSION = 1;
/** The key prefix the stacks grant and expire (`stacks/lib/permissions.ts`). */
export const RESOLUTION_CACHE_PREFIX = 'cache/';
const FORMAT = 'nvcf-ecr/resolution-cache';
/** A pack not rewritten for this long is rewritten even when nothing changed, so the lifecycle rule never expires a pack in use. */
export const CACHE_REFRESH_MS = 7 * 86_400_000;

/** Resolver failures decided by content alone: the same bytes fail the same way on every run. */
const PERMANENT_CODES: ReadonlySet<ManifestErrorCode> = new Set<ManifestErrorCode>([
  'invalid-json',
  'invalid-manifest',
  'unsupported-media-type',
  'too-deep',
  'too-large',
  'too-many-manifests',
  'loop',
  'invalid-config',
]);

/** True for an error worth remembering for its digest (not `not-found`, `digest-mismatch` or any source failure). */
export function isPermanentFailure(err: unknown): err is ManifestError {
  return err instanceof ManifestError && PERMANENT_CODES.has(err.code);
}

const digest = z.string().check(z.regex(DIGEST));
const ignoredSchema = z.strictObject({
  digest,
  mediaType: z.optional(z.string()),
  platform: z.optional(z.string()),
  reason: z.string().check(z.refine((r) => !r.startsWith('missing:'), 'a missing child is never cached')),
});
const resolvedSchema = z.strictObject({
  digest,
  kind: z.enum(['index', 'image', 'artifact']),
  mediaType: z.string(),
  platforms: z.array(z.string()),
  children: z.array(z.strictObject({ digest, platform: z.string(), mediaType: z.string() })),
  ignored: z.array(ignoredSchema),
  mismatches: z.array(z.strictObject({ digest, declared: z.string(), actual: z.string() })),
  /** Every manifest read besides the root: the entry holds only while all of them are listed. */
  manifests: z.array(digest),
});
const failedSchema = z.strictObject({
  digest,
  error: z.strictObject({ code: z.enum([...PERMANENT_CODES] as [string, ...string[]]), message: z.string() }),
  manifests: z.array(digest),
});
const entrySchema = z.union([resolvedSchema, failedSchema]);
const sealed = z.looseObject({ seal: z.string() });
const packSchema = z.looseObject({
  format: z.literal(FORMAT),
  version: z.literal(RESOLUTION_CACHE_VERSION),
  registry: z.string(),
  repository: z.string(),
  writtenAt: z.string(),
  entries: z.array(z.unknown()),
});

/** What one digest resolved to (or the permanent error it failed with), and the manifests that came from. */
export type CachedResolution = z.infer<typeof entrySchema>;

/** JSON with keys sorted at every level: the seal must not depend on the order a writer chose. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function seal(entry: CachedResolution): string {
  return `sha256:${createHash('sha256').update(canonical(entry)).digest('hex')}`;
}

/** The entry for a resolution (only a complete one: no child was missing). */
export function resolvedEntry(
  resolved: ResolvedImage,
  manifests: readonly string[],
): CachedResolution | undefined {
  if (resolved.ignored.some((i) => i.reason.startsWith('missing:'))) return undefined;
  return {
    digest: resolved.digest,
    kind: resolved.kind,
    mediaType: resolved.mediaType,
    platforms: [...resolved.platforms],
    children: resolved.children.map((c) => ({
      digest: c.digest,
      platform: c.platform,
      mediaType: c.mediaType,
    })),
    ignored: resolved.ignored.map((i) => ({ ...i })),
    mismatches: resolved.mismatches.map((m) => ({ ...m })),
    manifests: [...new Set(manifests)].filter((d) => d !== resolved.digest).sort(),
  };
}

/** The resolution an entry stands for (warnings are not kept: nothing the audit judges reads them). */
export function resolvedFromEntry(entry: Extract<CachedResolution, { kind: string }>): ResolvedImage {
  return {
    digest: entry.digest,
    mediaType: entry.mediaType,
    kind: entry.kind,
    platforms: [...entry.platforms],
    children: entry.children.map((c) => ({ ...c })),
    ignored: entry.ignored.map((i) => ({ ...i })),
    mismatches: entry.mismatches.map((m) => ({ ...m })),
    warnings: [],
  };
}

/** A repository's entries as read: the valid ones by digest, and how many were dropped as invalid. */
export interface LoadedPack {
  readonly entries: ReadonlyMap<string, CachedResolution>;
  readonly rejected: number;
  /** When the pack was written; `undefined` when there was none (or it was ignored whole). */
  readonly writtenAt: Date | undefined;
}

const EMPTY: LoadedPack = { entries: new Map(), rejected: 0, writtenAt: undefined };

/** `cache/v1/<host>/<repository>.json`. */
export function cacheKey(registry: Pick<RegistryConfig, 'hostname'>, repository: string): string {
  return `${RESOLUTION_CACHE_PREFIX}v${RESOLUTION_CACHE_VERSION}/${registry.hostname}/${repository}.json`;
}

/** Checks a pack's text: a foreign or unreadable pack is empty; each entry is kept only if it validates. */
export function parsePack(
  text: string,
  registry: string,
  repository: string,
): LoadedPack & { foreign: boolean } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ...EMPTY, foreign: true };
  }
  const pack = packSchema.safeParse(json);
  if (!pack.success || pack.data.registry !== registry || pack.data.repository !== repository)
    return { ...EMPTY, foreign: true };
  const entries = new Map<string, CachedResolution>();
  let rejected = 0;
  for (const raw of pack.data.entries) {
    const outer = sealed.safeParse(raw);
    if (!outer.success) {
      rejected++;
      continue;
    }
    const { seal: claimed, ...rest } = outer.data;
    const entry = entrySchema.safeParse(rest);
    if (!entry.success || seal(entry.data) !== claimed || entries.has(entry.data.digest)) {
      rejected++;
      continue;
    }
    entries.set(entry.data.digest, entry.data);
  }
  const written = new Date(pack.data.writtenAt);
  return {
    entries,
    rejected,
    writtenAt: Number.isNaN(written.getTime()) ? undefined : written,
    foreign: false,
  };
}

/** The pack's text: entries sorted by digest, each with its seal. */
export function renderPack(
  registry: string,
  repository: string,
  entries: Iterable<CachedResolution>,
  writtenAt: Date,
): string {
  const sorted = [...entries].sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
  return JSON.stringify({
    format: FORMAT,
    version: RESOLUTION_CACHE_VERSION,
    registry,
    repository,
    writtenAt: writtenAt.toISOString(),
    entries: sorted.map((e) => ({ ...e, seal: seal(e) })),
  });
}

export interface ResolutionCacheOptions {
  readonly objects: ObjectStore;
  readonly bucket: string;
  readonly logger: Logger;
  readonly now: () => Date;
}

/**
 * The report bucket's resolution cache. Failing to read or write it never fails the audit: a read that fails
 * is an empty pack (the repository is resolved as on a first run), a write that fails is logged.
 */
export class ResolutionCache {
  private readonly options: ResolutionCacheOptions;

  public constructor(options: ResolutionCacheOptions) {
    this.options = options;
  }

  public async load(registry: RegistryConfig, repository: string): Promise<LoadedPack> {
    const Key = cacheKey(registry, repository);
    let text: string;
    try {
      const bytes = await this.options.objects.get(this.options.bucket, Key);
      // A first run finds no pack.
      if (bytes === undefined) return EMPTY;
      text = new TextDecoder().decode(bytes);
    } catch (err) {
      // AccessDenied is S3's answer for a missing key when the role may not list the bucket: a first run too.
      if ((err as { name?: string }).name !== 'AccessDenied')
        this.options.logger.warn('resolution cache could not be read', {
          key: Key,
          error: describeFailure(err),
        });
      return EMPTY;
    }
    const pack = parsePack(text, registry.hostname, repository);
    if (pack.foreign || pack.rejected > 0) {
      this.options.logger.warn('resolution cache entries ignored', {
        key: Key,
        foreign: pack.foreign,
        rejected: pack.rejected,
      });
    }
    return pack;
  }

  public async save(
    registry: RegistryConfig,
    repository: string,
    entries: Iterable<CachedResolution>,
  ): Promise<void> {
    const Key = cacheKey(registry, repository);
    try {
      await this.options.objects.put(
        this.options.bucket,
        Key,
        renderPack(registry.hostname, repository, entries, this.options.now()),
        'application/json',
      );
    } catch (err) {
      this.options.logger.warn('resolution cache could not be written', {
        key: Key,
        error: describeFailure(err),
      });
    }
  }
}
