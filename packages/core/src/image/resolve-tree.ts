/**
 * The outcome tree of an index resolution: one slot per index entry, filled as its manifest and config
 * arrive so index order survives concurrent fetches; how an image entry counts (its declared platform,
 * unless its config contradicts it); and the cycle search that backs up the engine's path check. Apart from
 * the engine (`resolve.ts`), which fetches, and from the folding of the tree (`resolve-results.ts`).
 */

import type { ContentDescriptor } from './manifest.ts';
import { describePlatform } from './manifest.ts';
import { formatPlatform, type Platform, platformWarnings } from './platform.ts';
import { loopError } from './refusals.ts';
import type { IgnoredEntry, PlatformMismatch, ResolvedChild } from './resolution.ts';

/** Result slot of one index entry; filled in when its config arrives, so index order is kept. */
export interface Slot {
  outcome: Outcome | undefined;
}

export type Outcome =
  | { type: 'ignored'; entry: IgnoredEntry }
  | { type: 'image'; child: ResolvedChild; mismatch: PlatformMismatch | undefined }
  | { type: 'index'; slots: Slot[] };

/** An index entry waiting to be opened at the current level. */
export interface Pending {
  entry: ContentDescriptor;
  /** Digest of the index that lists this entry. */
  parent: string;
  /** Digests of the indexes above this entry (loop detection). */
  ancestors: ReadonlySet<string>;
  /** Index level of the entry's parent (the root index is 1). */
  depth: number;
  slot: Slot;
}

export interface ConfigJob {
  pending: Pending;
  manifestDigest: string;
  mediaType: string;
  config: ContentDescriptor;
}

export function ignored(entry: ContentDescriptor, reason: string, mediaType?: string): Outcome {
  const platform = describePlatform(entry.platform);
  const out: IgnoredEntry = { digest: entry.digest, mediaType: mediaType ?? entry.mediaType, reason };
  if (platform !== undefined) out.platform = platform;
  return { type: 'ignored', entry: out };
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
export function imageOutcome(
  p: Pending,
  mediaType: string,
  actual: Platform,
  warnings: Set<string>,
): Outcome {
  const actualText = formatPlatform(actual);
  const declared = p.entry.platform;
  if (declared === undefined) {
    warnings.add(
      `index entry ${p.entry.digest} declares no platform; counted as ${actualText}, from its config`,
    );
  }
  const counted = declared ?? actual;
  const countedText = formatPlatform(counted);
  for (const w of platformWarnings(counted)) warnings.add(w);
  const mismatch =
    declared !== undefined && !configAgrees(declared, actual)
      ? { digest: p.entry.digest, declared: countedText, actual: actualText }
      : undefined;
  return { type: 'image', child: { digest: p.entry.digest, platform: countedText, mediaType }, mismatch };
}

/** Whether a config's platform agrees with the one its index entry declares (see `imageOutcome`). */
export function configAgrees(declared: Platform, config: Platform): boolean {
  return (
    declared.os === config.os &&
    declared.architecture === config.architecture &&
    (config.variant === '' || config.variant === declared.variant)
  );
}

/**
 * The path check in `Resolution.resolveLevel` stops a loop as soon as an index lists one of its ancestors.
 * An index listed twice is expanded once, so a cycle between two such indexes can escape that check;
 * this search over every index-to-index edge (at most {@link MAX_MANIFESTS} nodes) catches it.
 */
export function rejectCycles(indexEdges: ReadonlyMap<string, ReadonlySet<string>>): void {
  const state = new Map<string, 'open' | 'done'>();
  const visit = (node: string): void => {
    state.set(node, 'open');
    for (const next of indexEdges.get(node) ?? []) {
      const s = state.get(next);
      if (s === 'open') throw loopError(next);
      if (s === undefined) visit(next);
    }
    state.set(node, 'done');
  };
  for (const node of indexEdges.keys()) if (!state.has(node)) visit(node);
}
