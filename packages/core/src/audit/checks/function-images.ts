/**
 * image.function-image-present: every image an NVCF function version names on a configured registry exists
 * (looked up in the repository scans, else fetched directly), then hands the looked-up images to
 * image.function-architecture (`function-architecture.ts`). Apart from the repository checks
 * (`repository-images.ts`): these start from NVCF's function list, not from ECR.
 */
import type { RegistryConfig } from '../../config/index.ts';
import { AuditError } from '../../errors.ts';
import type { NvcfFunctionView } from '../../ports/nvcf.ts';
import { listText, plural } from '../check.ts';
import { describeFailure } from '../facts.ts';
import { type FunctionImage, functionResource, locateFunctionImage } from '../functions.ts';
import type { ImageOutcome, RepositoryScan } from '../images.ts';
import type { Finding } from '../model.ts';
import { mapLimit } from '../pace.ts';
import { architectureFindings, helmFindings } from './function-architecture.ts';
import { imageFinding as f, IMAGE_CHECKS, type ImageCheckInput } from './image-catalog.ts';

export interface UsedImage {
  readonly located: FunctionImage;
  readonly functions: NvcfFunctionView[];
  outcome?: ImageOutcome | undefined;
  exists?: boolean | undefined;
  error?: string | undefined;
}

function functionList(fns: readonly NvcfFunctionView[]) {
  return fns.map((fn) => ({ function: functionResource(fn), name: fn.name, status: fn.status }));
}

/** image.function-image-present and image.function-architecture. */
export async function functionFindings(
  input: ImageCheckInput,
  scans: readonly RepositoryScan[],
): Promise<Finding[]> {
  const { registries, account } = input;
  let functions: readonly NvcfFunctionView[];
  try {
    functions = (await account.functions()).filter((fn) => fn.status !== 'DELETED');
  } catch (err) {
    const why = `NVCF's function list could not be read: ${describeFailure(err)}`;
    return registries.flatMap((r) => [
      f(IMAGE_CHECKS.functionImagePresent, r, { status: 'error', resource: r.hostname, message: why }),
      f(IMAGE_CHECKS.functionArchitecture, r, { status: 'error', resource: r.hostname, message: why }),
    ]);
  }
  const used = usedImages(functions, registries);
  await mapLimit([...used.values()], input.nvcfConcurrency, (u) => lookUpImage(u, input, scans));
  const out = registries.flatMap((registry) =>
    presenceFindings(
      registry,
      [...used.values()].filter((u) => u.located.registry.name === registry.name),
    ),
  );
  out.push(...(await architectureFindings(input, [...used.values()])));
  out.push(...helmFindings(functions));
  return out;
}

/** One entry per distinct image reference the functions use: several versions often share an image. */
function usedImages(
  functions: readonly NvcfFunctionView[],
  registries: readonly RegistryConfig[],
): Map<string, UsedImage> {
  const used = new Map<string, UsedImage>();
  for (const fn of functions) {
    const located = locateFunctionImage(fn, registries);
    if (!located) continue;
    const entry = used.get(located.image) ?? { located, functions: [] };
    entry.functions.push(fn);
    used.set(located.image, entry);
  }
  return used;
}

/** Whether a used image exists, and its outcome: from the repository scans, else looked up directly. */
async function lookUpImage(
  u: UsedImage,
  input: ImageCheckInput,
  scans: readonly RepositoryScan[],
): Promise<void> {
  const { scanner } = input;
  const scanOf = (registry: RegistryConfig, repository: string) =>
    scans.find((s) => s.registry.name === registry.name && s.repository === repository);
  const { registry, repository, tag, digest } = u.located;
  if (u.located.problem) return;
  try {
    if (registry.kind === 'public') {
      u.exists = await scanner.publicImageExists(registry, repository, { tag, digest });
      return;
    }
    const scan = scanOf(registry, repository);
    if (scan?.state === 'error')
      throw new AuditError(scan.error ?? `repository ${repository} could not be listed`);
    if (scan?.state === 'unreached')
      throw new AuditError(`repository ${repository} was not read: the audit ran out of time first`);
    if (scan?.state === 'missing') {
      u.exists = false;
      return;
    }
    const hit = scan?.images.find((i) =>
      digest ? i.digest === digest : tag !== undefined && i.tags.includes(tag),
    );
    if (hit && hit.outcome.kind !== 'gone') {
      u.exists = true;
      u.outcome = hit.outcome;
      return;
    }
    if (!digest) {
      // DescribeImages listed every tagged image a moment ago: a tag it did not list does not exist.
      u.exists = false;
      return;
    }
    // A digest that no tag names: fetch it directly.
    const fetcher = scanner.fetcherFor(registry, repository);
    const root = (await fetcher.getManifests([digest])).get(digest);
    u.exists = root !== undefined;
    if (root) u.outcome = await scanner.resolveOne(registry, repository, fetcher, digest, root);
  } catch (err) {
    u.error = describeFailure(err);
  }
}

/** image.function-image-present (and index children of digest-only images) for one registry. */
function presenceFindings(registry: RegistryConfig, mine: readonly UsedImage[]): Finding[] {
  const present = IMAGE_CHECKS.functionImagePresent;
  const out: Finding[] = [];
  let ok = 0;
  for (const u of mine) {
    const fns = functionList(u.functions);
    const who = `${plural(u.functions.length, 'function version')} (${listText(
      u.functions.map((fn) => `${fn.name} ${fn.versionId}`),
      3,
    )})`;
    if (u.located.problem) {
      out.push(
        f(present, registry, {
          status: 'fail',
          resource: u.located.image,
          message: `${u.located.image}, used by ${who}, cannot be pulled with this registry's credential: ${u.located.problem}.`,
          evidence: { image: u.located.image, functions: fns },
          remediation: `Add the repository to registries[].repositories of ${registry.name} and redeploy (the pull policy follows the configuration), or point the functions at a configured repository.`,
        }),
      );
    } else if (u.error !== undefined) {
      out.push(
        f(present, registry, {
          status: 'error',
          resource: u.located.image,
          message: `Could not look up ${u.located.image}: ${u.error}`,
          evidence: { image: u.located.image, functions: fns },
        }),
      );
    } else if (!u.exists) {
      out.push(
        f(present, registry, {
          status: 'fail',
          resource: u.located.image,
          message: `${u.located.image} does not exist in ECR, but ${who} use${u.functions.length === 1 ? 's' : ''} it: NVCF cannot start new instances of ${u.functions.length === 1 ? 'it' : 'them'}.`,
          evidence: { image: u.located.image, functions: fns },
        }),
      );
    } else {
      ok++;
      const o = u.outcome;
      if (o?.kind === 'resolved' && o.missingChildren.length > 0 && u.located.digest && !u.located.tag) {
        // Tagged images were judged with their repository; a digest-only image is judged here.
        out.push(
          f(IMAGE_CHECKS.indexChildrenPresent, registry, {
            status: 'fail',
            resource: u.located.image,
            message: `${u.located.image}, used by ${who}, refers to ${plural(o.missingChildren.length, 'child', 'children')} that do not exist.`,
            evidence: { image: u.located.image, missingChildren: o.missingChildren, functions: fns },
          }),
        );
      }
    }
  }
  if (mine.every((u) => u.exists === true && u.error === undefined && !u.located.problem)) {
    out.push(
      f(present, registry, {
        status: 'pass',
        resource: registry.hostname,
        message:
          mine.length === 0
            ? `No NVCF function version uses an image of ${registry.hostname}.`
            : `All ${plural(ok, 'image')} of ${registry.hostname} used by NVCF function versions exist.`,
        evidence: {
          images: mine.map((u) => ({ image: u.located.image, functions: functionList(u.functions) })),
        },
      }),
    );
  }
  return out;
}
