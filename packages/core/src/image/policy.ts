import { ConfigError, CoreError } from '../errors.ts';
import { redactString } from '../redact.ts';
import {
  compatibleVariants,
  formatPlatform,
  type Platform,
  parsePlatform,
  platformSatisfies,
  singleManifestSatisfies,
} from './platform.ts';
import type { ResolvedImage } from './resolve.ts';

/**
 * Platform policy: does a resolved image run where NVCF will place it? NVCF needs `linux/amd64`, and
 * `linux/arm64` for GB200 (Grace) targets
 * (https://docs.nvidia.com/cloud-functions/user-guide/latest/cloud-function/third-party-registries.html).
 * A required platform is the platform of a host: an index must offer an entry that host's container runtime
 * selects ({@link platformSatisfies}, containerd's matching), a single manifest only the host's os and
 * architecture ({@link singleManifestSatisfies}).
 */

/**
 * `artifact`: the pushed manifest is a signature, attestation, SBOM, Helm chart or other OCI artifact, not an
 * image; nothing to run and nothing wrong, so no notification rule matches it.
 */
export type PlatformVerdict = 'compliant' | 'non-compliant' | 'not-runnable' | 'artifact';
export type Verdict = PlatformVerdict | 'error';

export interface PlatformEvaluation {
  verdict: PlatformVerdict;
  /** The required platforms, normalised. */
  required: string[];
  /**
   * Required platforms the image does not provide (empty unless `non-compliant`; a `non-compliant` verdict
   * with none missing comes from `mismatches`).
   */
  missing: string[];
  /** Human sentences explaining the verdict. */
  reasons: string[];
}

export interface ErrorEvaluation {
  verdict: 'error';
  reasons: string[];
}

export interface EvaluatePlatformsOptions {
  /** Named in reasons ("missing linux/arm64 required for repository inference-gb200"). */
  repository?: string | undefined;
  /**
   * Who requires a platform (normalised `os/arch[/variant]`), when not the repository alone: replaces
   * "for repository R" in its reason ("by NVCF function F (…), deployed on GB200 (…)").
   */
  requiredFor?: ReadonlyMap<string, string> | undefined;
}

/**
 * Evaluates a resolved image against the required platforms.
 * - `artifact`: the root is an artifact (signature, attestation, SBOM, Helm chart...).
 * - `not-runnable`: a Docker schema1 manifest, or an index with no runnable entry (empty, or every entry
 *   ignored).
 * - `non-compliant`: some required platform is missing (`missing` lists them), or an index entry's config
 *   contradicts its declared platform (`resolved.mismatches`): a host of the declared platform would pull the
 *   other architecture's binary.
 * - `compliant`: every required platform is provided and no entry lies about its platform.
 *
 * Throws {@link ConfigError} when a required platform is not `os/arch[/variant]` (the configuration schema
 * rejects those earlier; this guards direct callers).
 *
 * @example
 * evaluatePlatforms(resolved, ['linux/amd64', 'linux/arm64'], { repository: 'inference-gb200' });
 * // { verdict: 'non-compliant', missing: ['linux/arm64'], reasons: ['missing linux/arm64 required for repository inference-gb200 (the image has linux/amd64)'], ... }
 */
export function evaluatePlatforms(
  resolved: ResolvedImage,
  required: readonly string[],
  options: EvaluatePlatformsOptions = {},
): PlatformEvaluation {
  const wanted = parseRequired(required);
  const requiredText = dedupe(wanted.map(formatPlatform));
  const mismatchReasons = resolved.mismatches.map(
    (m) =>
      `index entry ${m.digest} declares ${m.declared} but its config says ${m.actual}: a ${m.declared} host would pull a ${m.actual} binary, so the entry counts for no platform; fix the index (docker buildx imagetools create, or docker manifest annotate) or rebuild`,
  );

  if (resolved.kind === 'artifact') {
    const why = resolved.ignored.filter((i) => i.digest === resolved.digest).map((i) => i.reason);
    return {
      verdict: 'artifact',
      required: requiredText,
      missing: [],
      reasons: why.length > 0 ? why : [`artifact: ${resolved.digest} is not a runnable image`],
    };
  }
  if (resolved.platforms.length === 0 && resolved.mismatches.length === 0) {
    return {
      verdict: 'not-runnable',
      required: requiredText,
      missing: [],
      reasons: noPlatformReasons(resolved),
    };
  }

  const single = resolved.kind === 'image';
  const actual = resolved.platforms
    .map((p) => parsePlatform(p))
    .filter((p): p is Platform => p !== undefined);
  const has = resolved.platforms.join(', ') || 'no platform';
  const forRepo = options.repository ? ` for repository ${options.repository}` : '';
  const missing: string[] = [];
  const reasons: string[] = [];
  for (const req of wanted) {
    const text = formatPlatform(req);
    if (missing.includes(text)) continue;
    const match = actual.find((a) => (single ? singleManifestSatisfies(a, req) : platformSatisfies(a, req)));
    if (match) continue;
    missing.push(text);
    const who = options.requiredFor?.get(text);
    reasons.push(
      `missing ${text} required${who ? ` ${who}` : forRepo} (the image has ${has})${whyNot(actual, req)}`,
    );
  }
  if (missing.length > 0 || mismatchReasons.length > 0)
    return {
      verdict: 'non-compliant',
      required: requiredText,
      missing,
      reasons: [...reasons, ...mismatchReasons],
    };
  return {
    verdict: 'compliant',
    required: requiredText,
    missing: [],
    reasons: [
      `provides every required platform (${requiredText.join(', ')})${forRepo}${options.requiredFor?.size ? ' and the NVCF functions that run it' : ''}: the image has ${has}`,
    ],
  };
}

function noPlatformReasons(resolved: ResolvedImage): string[] {
  if (resolved.kind === 'image') return resolved.ignored.map((i) => i.reason);
  return resolved.ignored.length === 0
    ? [`index ${resolved.digest} lists no manifests, so there is nothing to run`]
    : [
        `index ${resolved.digest} has no runnable platform: all ${resolved.ignored.length} entr${resolved.ignored.length === 1 ? 'y was' : 'ies were'} ignored`,
        ...resolved.ignored.map((i) => `ignored ${i.digest}: ${i.reason}`),
      ];
}

/** Why platforms of the required architecture do not count: another os, or a variant the host does not pull. */
function whyNot(actual: readonly Platform[], req: Platform): string {
  const otherOs = actual.filter((a) => a.architecture === req.architecture && a.os !== req.os);
  const otherVariant = actual.filter((a) => a.architecture === req.architecture && a.os === req.os);
  const notes: string[] = [];
  if (otherOs.length > 0)
    notes.push(`${otherOs.map(formatPlatform).join(', ')} does not count: NVCF runs ${req.os} containers`);
  if (otherVariant.length > 0) {
    const pulls = compatibleVariants(req).map((v) => formatPlatform({ ...req, variant: v }));
    notes.push(
      `${otherVariant.map(formatPlatform).join(', ')} does not count: a ${formatPlatform(req)} host's runtime selects only ${pulls.join(', ')} from an index`,
    );
  }
  return notes.map((n) => `; ${n}`).join('');
}

/**
 * The `error` verdict for a resolution that threw. Reasons carry our own errors' messages (written to be
 * shown) and only the class name of anything else, so no stack trace or unexpected internal detail leaks
 * into an event or report; every reason is redacted as well.
 */
export function errorEvaluation(err: unknown): ErrorEvaluation {
  if (err instanceof CoreError) return { verdict: 'error', reasons: [redactString(err.message)] };
  const name = err instanceof Error ? err.name : typeof err;
  return {
    verdict: 'error',
    reasons: [`internal error (${name}) while resolving the image; see the function's logs`],
  };
}

function parseRequired(required: readonly string[]): Platform[] {
  return required.map((text, i) => {
    const p = parsePlatform(text);
    if (!p) {
      throw new ConfigError([
        {
          path: `required[${i}]`,
          message: `'${text}' must be a platform 'os/arch[/variant]', e.g. 'linux/amd64' or 'linux/arm64'`,
        },
      ]);
    }
    return p;
  });
}

function dedupe(items: string[]): string[] {
  return [...new Set(items)];
}
