import {
  type CpuArchitecture,
  isDeployed,
  locateFunctionImage,
  requiredArchitectures,
} from '../audit/functions.ts';
import { formatPlatform, parsePlatform } from '../image/platform.ts';
import type { NvcfAuditPort, NvcfDeploymentView, NvcfFunctionView } from '../ports/nvcf.ts';
import type { PushTarget } from './event.ts';

/**
 * Function-aware validation (packages/core/src/validation/README.md, "How it works", item 6): when the pushed
 * `repository:tag` (or digest) is the image of NVCF function versions, the platforms their deployments run on
 * are required too, whatever the repository's policy says. Which function pulls what and which CPU a
 * deployment needs are the audit's rules (`audit/functions.ts`), used here unchanged.
 */

/** The NVCF reads function-aware validation makes; `NvcfClient` satisfies it. */
export type NvcfFunctionsPort = Pick<NvcfAuditPort, 'listFunctions' | 'getDeployment'>;

/**
 * How long a warm function reuses NVCF's function list and deployments: a push of several tags (a
 * multi-platform build, CI pushing `vX.Y.Z` and `latest`) or a burst of pushes costs one listing per warm
 * container, not one per push, while a function created or redeployed is seen by pushes at most a minute later.
 * Anything NVCF changes in between is caught by the daily audit (`image.function-architecture`).
 */
export const FUNCTION_CATALOG_TTL_MS = 60_000;

interface Entry<T> {
  readonly at: number;
  readonly value: Promise<T>;
}

/**
 * The function list and deployments, kept {@link FUNCTION_CATALOG_TTL_MS} across warm invocations (the edge
 * builds one per container, as it does the content cache). A failed read is not kept: the next push asks again.
 */
export class FunctionCatalogCache {
  readonly #ttlMs: number;
  #functions: Entry<readonly NvcfFunctionView[]> | undefined;
  readonly #deployments = new Map<string, Entry<NvcfDeploymentView | undefined>>();

  public constructor(ttlMs: number = FUNCTION_CATALOG_TTL_MS) {
    this.#ttlMs = ttlMs;
  }

  /** The account's own function versions, as listed at most the TTL ago. */
  public functions(nvcf: NvcfFunctionsPort, nowMs: number): Promise<readonly NvcfFunctionView[]> {
    const hit = this.#functions;
    if (hit && nowMs - hit.at < this.#ttlMs) return hit.value;
    const value = nvcf.listFunctions('private');
    const entry = { at: nowMs, value };
    this.#functions = entry;
    value.catch(() => {
      if (this.#functions === entry) this.#functions = undefined;
    });
    return value;
  }

  /** A version's deployment, as read at most the TTL ago. */
  public deployment(
    nvcf: NvcfFunctionsPort,
    fn: Pick<NvcfFunctionView, 'id' | 'versionId'>,
    nowMs: number,
  ): Promise<NvcfDeploymentView | undefined> {
    const key = `${fn.id}/${fn.versionId}`;
    const hit = this.#deployments.get(key);
    if (hit && nowMs - hit.at < this.#ttlMs) return hit.value;
    const value = nvcf.getDeployment(fn.id, fn.versionId);
    const entry = { at: nowMs, value };
    this.#deployments.set(key, entry);
    value.catch(() => {
      if (this.#deployments.get(key) === entry) this.#deployments.delete(key);
    });
    return value;
  }
}

/** A function version whose image is the pushed one, as the verdict names it. */
export interface FunctionUse {
  readonly name: string;
  readonly id: string;
  readonly versionId: string;
  readonly status: string;
  /** Platforms its deployment runs on (`linux/<arch>`); empty when it is not deployed. */
  readonly requires: string[];
}

export interface FunctionRequirements {
  /** `checked`: NVCF was read, `functions` is complete; `skipped`: it could not be (why: in `warnings`). */
  readonly check: 'checked' | 'skipped';
  readonly functions: FunctionUse[];
  /** Each platform the functions require, normalised, with the phrase naming who requires it. */
  readonly requiredBy: ReadonlyMap<string, string>;
  readonly warnings: string[];
}

export interface FunctionRequirementsDeps {
  /** Absent: the check is skipped (a deployment without NVCF access). */
  readonly nvcf?: NvcfFunctionsPort | undefined;
  readonly functionCache?: FunctionCatalogCache | undefined;
  readonly now: () => Date;
}

/**
 * What the NVCF functions using the pushed image require. Never throws: NVCF unreachable, refusing, or the
 * NGC key missing gives `skipped` with a warning, and the verdict is the repository policy's alone.
 */
export async function functionRequirements(
  target: PushTarget,
  deps: FunctionRequirementsDeps,
): Promise<FunctionRequirements> {
  const skipped = (why: string): FunctionRequirements => ({
    check: 'skipped',
    functions: [],
    requiredBy: new Map(),
    warnings: [
      `NVCF function check skipped: ${why}; the verdict follows the repository policy alone (the daily audit checks functions)`,
    ],
  });
  // No NVCF client at all is a caller's choice (a test, a tool), not a failure worth a warning on every verdict.
  if (!deps.nvcf) return { check: 'skipped', functions: [], requiredBy: new Map(), warnings: [] };
  const nvcf = deps.nvcf;
  const cache = deps.functionCache ?? new FunctionCatalogCache();
  try {
    const nowMs = deps.now().getTime();
    const users = (await cache.functions(nvcf, nowMs)).filter(
      (fn) => fn.status !== 'DELETED' && fn.ownedByDifferentAccount !== true && pullsTarget(fn, target),
    );
    // Deployments of several versions are read at once; each is kept for the TTL like the list.
    const deployments = await Promise.all(
      users.map((fn) => (isDeployed(fn) ? cache.deployment(nvcf, fn, nowMs) : Promise.resolve(undefined))),
    );
    const functions: FunctionUse[] = [];
    const requiredBy = new Map<string, string[]>();
    const warnings: string[] = [];
    users.forEach((fn, i) => {
      const label = `NVCF function ${fn.name} (${fn.id}, version ${fn.versionId})`;
      const requires: string[] = [];
      const deployment = deployments[i];
      if (isDeployed(fn) && (!deployment || deployment.deploymentSpecifications.length === 0))
        warnings.push(`${label} is ${fn.status} but NVCF lists no GPU for it: its platform is not checked`);
      for (const need of deployment ? requiredArchitectures(deployment) : []) {
        if (need.architecture === 'unknown') {
          warnings.push(`${label}: ${need.because}, so it is not checked`);
          continue;
        }
        const platform = linux(need.architecture);
        requires.push(platform);
        requiredBy.set(platform, [
          ...(requiredBy.get(platform) ?? []),
          `${label}, whose deployment's ${need.because}`,
        ]);
      }
      functions.push({ name: fn.name, id: fn.id, versionId: fn.versionId, status: fn.status, requires });
    });
    return {
      check: 'checked',
      functions,
      requiredBy: new Map([...requiredBy].map(([p, by]) => [p, `by ${by.join('; ')}`])),
      warnings,
    };
  } catch (err) {
    return skipped(
      `NVCF could not be read (${err instanceof Error ? `${err.name}: ${err.message}` : String(err)})`,
    );
  }
}

/**
 * The repository's policy plus what the functions' deployments run on, normalised, and who requires each
 * platform when it is not the repository alone.
 */
export function requiredPlatforms(
  target: PushTarget,
  fns: FunctionRequirements,
): { required: string[]; requiredFor: Map<string, string> } {
  const policy = target.required.map((p) => {
    const parsed = parsePlatform(p);
    return parsed ? formatPlatform(parsed) : p;
  });
  const requiredFor = new Map<string, string>();
  for (const [platform, by] of fns.requiredBy) {
    requiredFor.set(
      platform,
      policy.includes(platform) ? `for repository ${target.repository} and ${by}` : by,
    );
  }
  return { required: [...new Set([...target.required, ...fns.requiredBy.keys()])], requiredFor };
}

/** One sentence per function version running the image: the verdict names them. */
export function functionReasons(fns: FunctionRequirements): string[] {
  return fns.functions.map(
    (f) =>
      `used by NVCF function ${f.name} (${f.id}, version ${f.versionId}, ${f.status})${
        f.requires.length > 0
          ? `, deployed on ${f.requires.join(' and ')}`
          : isDeployed(f)
            ? ', deployed on GPUs of unknown CPU architecture (see the warnings)'
            : ', not deployed'
      }`,
  );
}

/**
 * True when the version pulls the pushed image: same registry and repository, and the same digest when it
 * names one (NVCF then pulls by digest), else the same tag.
 */
function pullsTarget(fn: NvcfFunctionView, target: PushTarget): boolean {
  const located = locateFunctionImage(fn, [target.registry]);
  if (!located || located.problem !== undefined || located.repository !== target.repository) return false;
  return located.digest !== undefined ? located.digest === target.digest : located.tag === target.tag;
}

function linux(architecture: CpuArchitecture): string {
  const parsed = parsePlatform(`linux/${architecture}`);
  return parsed ? formatPlatform(parsed) : `linux/${architecture}`;
}
