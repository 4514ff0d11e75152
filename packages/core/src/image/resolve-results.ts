/**
 * How each kind of root becomes a {@link ResolvedImage}: a single image, a schema1 manifest (an image no
 * current runtime pulls), an artifact, or an index whose outcome tree (`resolve-tree.ts`) is folded into
 * platforms, children, ignored entries and mismatches. Apart from the engine (`resolve.ts`), which fetches.
 */
import type { ParsedManifest } from './manifest.ts';
import { formatPlatform, type Platform, platformWarnings } from './platform.ts';
import { schema1Reason } from './refusals.ts';
import type { IgnoredEntry, PlatformMismatch, ResolvedChild, ResolvedImage } from './resolution.ts';
import type { Outcome } from './resolve-tree.ts';

export function singleResult(root: ParsedManifest, platform: Platform, warnings: Set<string>): ResolvedImage {
  const p = formatPlatform(platform);
  for (const w of platformWarnings(platform)) warnings.add(w);
  return {
    digest: root.digest,
    mediaType: root.mediaType,
    kind: 'image',
    platforms: [p],
    children: [{ digest: root.digest, platform: p, mediaType: root.mediaType }],
    ignored: [],
    mismatches: [],
    warnings: [...warnings],
  };
}

/** A schema1 root: an image, but one current runtimes refuse to pull, so it offers no platform. */
export function schema1Result(
  root: ParsedManifest & { kind: 'schema1' },
  warnings: ReadonlySet<string>,
): ResolvedImage {
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
    warnings: [...warnings],
  };
}

export function artifactResult(
  root: ParsedManifest,
  reason: string,
  warnings: ReadonlySet<string>,
): ResolvedImage {
  return {
    digest: root.digest,
    mediaType: root.mediaType,
    kind: 'artifact',
    platforms: [],
    children: [],
    ignored: [{ digest: root.digest, mediaType: root.mediaType, reason }],
    mismatches: [],
    warnings: [...warnings],
  };
}

export function assembleIndex(
  root: ParsedManifest,
  top: Outcome & { type: 'index' },
  warnings: ReadonlySet<string>,
): ResolvedImage {
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
    warnings: [...warnings],
  };
}
