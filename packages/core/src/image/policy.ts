import { ConfigError, CoreError } from '../errors.ts';
import { redactString } from '../redact.ts';
import { formatPlatform, type Platform, parsePlatform, platformSatisfies } from './platform.ts';
import type { ResolvedImage } from './resolve.ts';

/**
 * Platform policy: does a resolved image run where NVCF will place it? NVCF needs `linux/amd64`, and
 * `linux/arm64` for GB200 (Grace) targets
 * (https://docs.nvidia.com/cloud-functions/user-guide/latest/cloud-function/third-party-registries.html).
 * Matching is {@link platformSatisfies}: `windows/amd64` never satisfies `linux/amd64`, and `arm64/v8` is
 * plain `arm64` after normalisation.
 */

export type PlatformVerdict = 'compliant' | 'non-compliant' | 'not-runnable';
export type Verdict = PlatformVerdict | 'error';

export interface PlatformEvaluation {
  verdict: PlatformVerdict;
  /** The required platforms, normalised. */
  required: string[];
  /** Required platforms the image does not provide (empty unless `non-compliant`). */
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
}

/**
 * Evaluates a resolved image against the required platforms.
 * - `not-runnable`: an artifact, or an index with no runnable entry (empty, or every entry ignored).
 * - `non-compliant`: some required platform is missing; `missing` lists them.
 * - `compliant`: every required platform is satisfied.
 * Mismatches between an index and a config are repeated in `reasons` whatever the verdict: the verdict
 * already follows the configs, and an operator should know that the index lies.
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
      `index entry ${m.digest} declares ${m.declared} but its config says ${m.actual}; counted as ${m.actual}`,
  );

  if (resolved.kind === 'artifact') {
    const why = resolved.ignored.filter((i) => i.digest === resolved.digest).map((i) => i.reason);
    return {
      verdict: 'not-runnable',
      required: requiredText,
      missing: [],
      reasons: why.length > 0 ? why : [`artifact: ${resolved.digest} is not a runnable image`],
    };
  }
  if (resolved.platforms.length === 0) {
    const reasons =
      resolved.ignored.length === 0
        ? [`index ${resolved.digest} lists no manifests, so there is nothing to run`]
        : [
            `index ${resolved.digest} has no runnable platform: all ${resolved.ignored.length} entr${resolved.ignored.length === 1 ? 'y was' : 'ies were'} ignored`,
            ...resolved.ignored.map((i) => `ignored ${i.digest}: ${i.reason}`),
          ];
    return { verdict: 'not-runnable', required: requiredText, missing: [], reasons };
  }

  const actual = resolved.platforms
    .map((p) => parsePlatform(p))
    .filter((p): p is Platform => p !== undefined);
  const has = resolved.platforms.join(', ');
  const forRepo = options.repository ? ` for repository ${options.repository}` : '';
  const missing: string[] = [];
  const reasons: string[] = [];
  for (const req of wanted) {
    const text = formatPlatform(req);
    if (missing.includes(text)) continue;
    const match = actual.find((a) => platformSatisfies(a, req));
    if (match) continue;
    missing.push(text);
    const sameArch = actual
      .filter((a) => a.architecture === req.architecture && a.os !== req.os)
      .map(formatPlatform);
    const note =
      sameArch.length > 0 ? `; ${sameArch.join(', ')} does not count: NVCF runs ${req.os} containers` : '';
    reasons.push(`missing ${text} required${forRepo} (the image has ${has})${note}`);
  }
  if (missing.length > 0)
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
      `provides every required platform (${requiredText.join(', ')})${forRepo}: the image has ${has}`,
      ...mismatchReasons,
    ],
  };
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
