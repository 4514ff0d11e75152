import type { RegistryConfig } from '../../config/index.ts';
import { AuditError } from '../../errors.ts';
import { parsePlatform, platformSatisfies, singleManifestSatisfies } from '../../image/platform.ts';
import type { Logger } from '../../log.ts';
import type { NvcfFunctionView } from '../../ports/nvcf.ts';
import { guard, listText, plural, toFinding } from '../check.ts';
import type { AccountFacts } from '../facts.ts';
import { describeFailure } from '../facts.ts';
import {
  type ArchitectureNeed,
  type CpuArchitecture,
  type FunctionImage,
  functionResource,
  isDeployed,
  locateFunctionImage,
  requiredArchitectures,
} from '../functions.ts';
import type { ImageOutcome, ImageScanner, RepositoryScan, ScannedImage } from '../images.ts';
import type { CheckDefinition, Finding, FindingDraft } from '../model.ts';
import { mapLimit } from '../pace.ts';

/**
 * Image checks: every tagged image of the configured repositories meets its platform policy and has all its
 * index children (lifecycle rules may delete them, https://github.com/aws/containers-roadmap/issues/1466;
 * push events are "emitted on a best effort basis",
 * https://docs.aws.amazon.com/AmazonECR/latest/userguide/ecr-eventbridge.html, so this is the backstop of
 * push validation); every image an NVCF function version uses exists, and a deployed function's image has the
 * CPU architecture of its deployment (GB200 "requires ARM64":
 * https://docs.nvidia.com/cloud-functions/user-guide/latest/cloud-function/third-party-registries.html).
 */

export const IMAGE_CHECKS = {
  platforms: {
    id: 'image.platforms',
    title: 'Tagged images provide the platforms their repository requires',
    severity: 'high',
    proves:
      "Every tagged image in the configured repositories, resolved from its manifests and judged by its config blobs (attestations ignored), provides every platform of its repository's policy (platforms.repositories, else platforms.require).",
    remediation:
      'Rebuild and push the image for the missing platforms (docker buildx build --platform linux/amd64,linux/arm64 --push), or change the repository policy if the requirement is wrong.',
  },
  functionImagePresent: {
    id: 'image.function-image-present',
    title: 'Images used by NVCF functions exist',
    severity: 'critical',
    proves:
      'Every image that an NVCF function version names on a configured registry is in a configured repository (the pull user may pull it) and exists in ECR, so NVCF can start new instances.',
    remediation:
      'Push the image again under the tag the function names, or deploy a function version that names an existing image.',
  },
  indexChildrenPresent: {
    id: 'image.index-children-present',
    title: 'Tagged indexes have all their child manifests',
    severity: 'high',
    proves:
      'Every runnable child manifest (and its config) that a tagged index or manifest list refers to is returned by ECR: none was deleted by a lifecycle rule or by hand. Entries the index itself marks as attestations or artifacts (vnd.docker.reference.type, unknown/unknown, artifactType) and entries with an empty platform are not fetched, so their absence is not checked.',
    remediation:
      'Push the multi-platform image again (its children come back with it), and make lifecycle rules spare untagged children of tagged indexes.',
  },
  functionArchitecture: {
    id: 'image.function-architecture',
    title: 'Deployed functions run images of their CPU architecture',
    severity: 'critical',
    proves:
      "The image of each deployed function version provides, as containerd selects index entries, linux/arm64 when its deployment runs on Grace CPUs (GB200-class GPUs, or cpuArch arm64) and linux/amd64 on the GPUs of x86-64 hosts, so instances do not fail with 'exec format error'; a GPU of unknown CPU architecture is an error, never assumed amd64.",
    remediation:
      'Push a multi-platform image (docker buildx build --platform linux/amd64,linux/arm64 --push) and deploy it, or deploy on GPUs of the image architecture.',
  },
} as const satisfies Record<string, CheckDefinition>;

export interface ImageCheckInput {
  readonly registries: readonly RegistryConfig[];
  readonly scanner: ImageScanner;
  readonly account: AccountFacts;
  readonly logger: Logger;
  /** Repositories scanned at once. */
  readonly repositoryConcurrency: number;
  /** NVCF deployments read at once. */
  readonly nvcfConcurrency: number;
  readonly onRepository?: ((registry: string, repository: string) => void) | undefined;
}

/** `host/repo` of a repository, and `host/[alias/]repo` for ECR Public. */
export function repositoryRef(registry: RegistryConfig, repository: string): string {
  const alias = registry.kind === 'public' && registry.publicAlias ? `${registry.publicAlias}/` : '';
  return `${registry.hostname}/${alias}${repository}`;
}

/** `host/repo:tag` (first tag in order), the resource of an image finding. */
export function imageRef(
  registry: RegistryConfig,
  image: Pick<ScannedImage, 'repository' | 'tags' | 'digest'>,
): string {
  const tag = image.tags[0];
  return `${repositoryRef(registry, image.repository)}${tag ? `:${tag}` : `@${image.digest}`}`;
}

export async function imageChecks(input: ImageCheckInput): Promise<Finding[]> {
  const { registries, scanner, logger } = input;
  const targets = registries.flatMap((registry) =>
    registry.repositories.map((repository) => ({ registry, repository })),
  );
  const scans = await mapLimit(targets, input.repositoryConcurrency, async ({ registry, repository }) => {
    const scan = await scanner.scanRepository(registry, repository);
    input.onRepository?.(registry.name, repository);
    return scan;
  });
  const findings: Finding[] = [];
  for (const scan of scans) findings.push(...repositoryFindings(scan));
  findings.push(...(await functionFindings(input, scans)));
  logger.debug('image checks done', { repositories: scans.length, findings: findings.length });
  return findings;
}

const f = (def: CheckDefinition, registry: RegistryConfig | undefined, draft: FindingDraft) =>
  toFinding(def, draft, registry?.name);

function imageEvidence(registry: RegistryConfig, image: ScannedImage): Record<string, unknown> {
  const o = image.outcome;
  return {
    repository: repositoryRef(registry, image.repository),
    digest: image.digest,
    tags: image.tags,
    mediaType: image.mediaType ?? null,
    pushedAt: image.pushedAt ?? null,
    ...(o.kind === 'resolved'
      ? {
          kind: o.imageKind,
          platforms: o.platforms,
          required: o.evaluation.required,
          missing: o.evaluation.missing,
          reasons: o.evaluation.reasons,
        }
      : {}),
  };
}

/** image.platforms and image.index-children-present for one repository. */
function repositoryFindings(scan: RepositoryScan): Finding[] {
  const { registry, repository } = scan;
  const repo = repositoryRef(registry, repository);
  const P = IMAGE_CHECKS.platforms;
  const C = IMAGE_CHECKS.indexChildrenPresent;
  // Not started before the deadline: audit.incomplete names it; a finding here would claim what was not read.
  if (scan.state === 'unreached') return [];
  if (scan.state === 'missing') {
    const draft: FindingDraft = {
      status: 'fail',
      severity: 'low',
      resource: repo,
      message: `Repository ${repository} is configured for registry ${registry.name} but does not exist in ${registry.hostname}.`,
      evidence: { repository: repo },
      remediation: `Create the repository, or remove '${repository}' from registries[].repositories (and redeploy: the pull policy follows the configuration).`,
    };
    return [f(P, registry, draft)];
  }
  if (scan.state === 'error') {
    const message = `Repository ${repository} could not be listed: ${scan.error ?? 'unknown failure'}`;
    const remediation =
      'Check that the audit may call ecr:DescribeImages, ecr:BatchGetImage and ecr:GetDownloadUrlForLayer on the repository.';
    return [
      f(P, registry, { status: 'error', resource: repo, message, remediation }),
      f(C, registry, { status: 'error', resource: repo, message, remediation }),
    ];
  }
  if (scan.state === 'public') {
    const evidence = {
      repository: repo,
      taggedImages: scan.images.length,
      images: scan.images
        .slice(0, 50)
        .map((i) => ({ digest: i.digest, tags: i.tags, mediaType: i.mediaType ?? null })),
    };
    const why =
      'ECR Public has no manifest API (no BatchGetImage or GetDownloadUrlForLayer), so the audit cannot read its manifests';
    return [
      f(P, registry, {
        status: 'fail',
        severity: 'info',
        resource: repo,
        message: `Not verified: ${plural(scan.images.length, 'tagged image')} in ${repo}; ${why}.`,
        evidence,
        remediation: 'Check images before pushing them (nvcf-ecr check <image> --require <platforms>).',
      }),
      f(C, registry, {
        status: 'fail',
        severity: 'info',
        resource: repo,
        message: `Not verified: the children of indexes in ${repo}; ${why}.`,
        evidence,
        remediation: 'Check images before pushing them (nvcf-ecr check <image>).',
      }),
    ];
  }

  const out: Finding[] = [];
  let compliant = 0;
  let artifacts = 0;
  let gone = 0;
  let unresolved = 0;
  let indexes = 0;
  let platformProblems = 0;
  let childProblems = 0;
  let required: readonly string[] = [];
  for (const image of scan.images) {
    const o = image.outcome;
    const ref = imageRef(registry, image);
    if (o.kind === 'gone') {
      gone++;
      continue;
    }
    if (o.kind !== 'resolved') {
      unresolved++;
      platformProblems++;
      out.push(
        f(P, registry, {
          status: 'error',
          resource: ref,
          message: `${ref} could not be resolved: ${o.kind === 'error' ? o.message : 'not readable'}`,
          evidence: imageEvidence(registry, image),
          remediation:
            'Fix what the message names (a malformed manifest must be pushed again), then run the audit again.',
        }),
      );
      continue;
    }
    required = o.evaluation.required;
    if (o.imageKind === 'index') indexes++;
    if (o.missingChildren.length > 0) {
      childProblems++;
      out.push(
        f(C, registry, {
          status: 'fail',
          resource: ref,
          message: `${ref} (${image.digest}) refers to ${plural(o.missingChildren.length, 'child', 'children')} that ${o.missingChildren.length === 1 ? 'does' : 'do'} not exist in ${repository}: ${listText(
            o.missingChildren.map((c) => `${c.digest}${c.platform ? ` (${c.platform})` : ''}`),
            4,
          )}. NVCF cannot pull ${o.missingChildren.length === 1 ? 'that platform' : 'those platforms'}.`,
          evidence: { ...imageEvidence(registry, image), missingChildren: o.missingChildren },
        }),
      );
    }
    if (o.imageKind === 'artifact') {
      artifacts++;
      continue;
    }
    if (o.evaluation.verdict === 'compliant') {
      compliant++;
      continue;
    }
    platformProblems++;
    out.push(
      f(P, registry, {
        status: 'fail',
        severity: o.evaluation.verdict === 'not-runnable' ? 'medium' : undefined,
        resource: ref,
        message: `${ref} (${image.tags.length > 1 ? `tags ${image.tags.join(', ')}; ` : ''}${image.digest}): ${o.evaluation.reasons.join('; ')}.`,
        evidence: imageEvidence(registry, image),
      }),
    );
  }
  const skipped = [
    ...(artifacts > 0 ? [`${plural(artifacts, 'artifact')} skipped`] : []),
    ...(gone > 0 ? [`${plural(gone, 'image')} deleted during the audit`] : []),
  ];
  const counts = {
    taggedImages: scan.images.length,
    compliant,
    artifacts,
    indexes,
    deletedDuringAudit: gone,
    unresolved,
  };
  if (platformProblems === 0) {
    out.push(
      f(P, registry, {
        status: 'pass',
        resource: repo,
        message:
          scan.images.length === 0
            ? `${repo} has no tagged image.`
            : `All ${plural(compliant, 'tagged image')} of ${repo} provide ${required.join(', ')}${skipped.length > 0 ? ` (${skipped.join(', ')})` : ''}.`,
        evidence: { repository: repo, ...counts },
      }),
    );
  }
  if (unresolved > 0) {
    out.push(
      f(C, registry, {
        status: 'error',
        resource: repo,
        message: `${plural(unresolved, 'tagged image')} of ${repo} could not be resolved, so their children were not checked (see image.platforms).`,
        evidence: { repository: repo, ...counts },
      }),
    );
  } else if (childProblems === 0) {
    out.push(
      f(C, registry, {
        status: 'pass',
        resource: repo,
        message: `All ${plural(indexes, 'tagged index', 'tagged indexes')} of ${repo} have every child manifest and config.`,
        evidence: { repository: repo, ...counts },
      }),
    );
  }
  return out;
}

interface UsedImage {
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
async function functionFindings(
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

/** image.function-architecture of deployed versions whose image exists. */
async function architectureFindings(input: ImageCheckInput, used: readonly UsedImage[]): Promise<Finding[]> {
  const { registries, account, logger } = input;
  const arch = IMAGE_CHECKS.functionArchitecture;
  const out: Finding[] = [];
  const deployed = used.flatMap((u) => u.functions.filter(isDeployed).map((fn) => ({ fn, u })));
  const archFindings = await mapLimit(deployed, input.nvcfConcurrency, ({ fn, u }) =>
    guard(arch, functionResource(fn), u.located.registry.name, logger, async () =>
      architecture(fn, u, account),
    ),
  );
  out.push(...archFindings.flat());
  for (const registry of registries) {
    // A registry whose deployed versions were all skipped (image missing: reported above) gets no pass either.
    if (!deployed.some((d) => d.u.located.registry.name === registry.name)) {
      out.push(
        f(arch, registry, {
          status: 'pass',
          resource: registry.hostname,
          message: `No deployed NVCF function version runs an image of ${registry.hostname}.`,
          evidence: { deployedFunctions: 0 },
        }),
      );
    }
  }
  return out;
}

/**
 * Helm functions receive every CONTAINER credential (`getContainerRegistryCredentialDetails`,
 * NVIDIA/nvcf:src/control-plane-services/…/RegistryCredentialFunctionService.java): they may pull from
 * these registries, but NVCF's API does not say which images their charts run.
 */
function helmFindings(functions: readonly NvcfFunctionView[]): Finding[] {
  const arch = IMAGE_CHECKS.functionArchitecture;
  const out: Finding[] = [];
  for (const fn of functions.filter((x) => !x.containerImage && x.helmChart !== undefined && isDeployed(x))) {
    out.push(
      toFinding(arch, {
        status: 'fail',
        severity: 'info',
        resource: functionResource(fn),
        message: `Not verified: Helm function ${fn.name} (${fn.versionId}) may pull from the configured registries (NVCF gives Helm functions every CONTAINER credential), but the images its chart ${fn.helmChart} runs are not known to NVCF's API.`,
        evidence: {
          function: functionResource(fn),
          name: fn.name,
          helmChart: fn.helmChart ?? null,
          status: fn.status,
        },
        remediation:
          "Check the chart's images with nvcf-ecr check before deploying it on GPUs of another CPU architecture.",
      }),
    );
  }
  return out;
}

async function architecture(
  fn: NvcfFunctionView,
  u: UsedImage,
  account: AccountFacts,
): Promise<FindingDraft[]> {
  const resource = functionResource(fn);
  const image = u.located.image;
  if (u.located.problem || u.exists === false) return []; // reported by image.function-image-present
  if (u.error !== undefined) throw new AuditError(u.error);
  const deployment = await account.deployment(fn.id, fn.versionId);
  if (!deployment || deployment.deploymentSpecifications.length === 0) {
    // A deployed version is judged by its deployment's GPUs; without them nothing can be said, and saying
    // nothing would also suppress the registry's pass (a deployed version exists): report it as unknown.
    const why = deployment
      ? 'has no deployment specifications'
      : `could not be read (NVCF answers that it has none, although the version is ${fn.status})`;
    return [
      {
        status: 'error',
        resource,
        message: `The deployment of function ${fn.name} (${fn.id}) version ${fn.versionId} ${why}: its CPU architecture is unknown, so ${image} was not checked against it.`,
        evidence: {
          function: resource,
          name: fn.name,
          status: fn.status,
          image,
          deployment: deployment
            ? { deploymentId: deployment.deploymentId, deploymentSpecifications: [] }
            : null,
        },
        remediation: `Check the deployment in NVCF (GET /v2/nvcf/deployments/functions/${fn.id}/versions/${fn.versionId}); once it lists its GPUs, run the audit again.`,
      },
    ];
  }
  const all = requiredArchitectures(deployment);
  const unknown = all.filter((n) => n.architecture === 'unknown');
  if (unknown.length > 0) {
    return [
      {
        status: 'error',
        resource,
        message: `The deployment of function ${fn.name} (${fn.id}) version ${fn.versionId} runs on ${unknown.map((n) => n.because).join('; ')}: its CPU architecture is unknown, so ${image} was not checked against it.`,
        evidence: {
          function: resource,
          name: fn.name,
          status: fn.status,
          image,
          unknown: unknown.map((n) => n.because),
        },
        remediation:
          "Check the GPU's CPU architecture (ngc cf gpu info) and the image with nvcf-ecr check --require linux/<arch>; NVCF normally reports cpuArch in the deployment specification.",
      },
    ];
  }
  const needs = all.filter(
    (n): n is ArchitectureNeed & { architecture: CpuArchitecture } => n.architecture !== 'unknown',
  );
  const evidence: Record<string, unknown> = {
    function: resource,
    name: fn.name,
    status: fn.status,
    image,
    deployment: deployment.deploymentSpecifications.map((s) => ({
      gpu: s.gpu,
      instanceType: s.instanceType,
      cpuArch: s.cpuArch ?? null,
    })),
    needs,
  };
  if (u.located.registry.kind === 'public') {
    return [
      {
        status: 'fail',
        severity: 'info',
        resource,
        message: `Not verified: ${fn.name} (${fn.versionId}) needs ${needs.map((n) => `linux/${n.architecture}`).join(' and ')}, but ECR Public has no manifest API to read ${image}'s platforms.`,
        evidence,
        remediation: 'Check the image with nvcf-ecr check before deploying it.',
      },
    ];
  }
  const o = u.outcome;
  if (o?.kind !== 'resolved')
    throw new AuditError(`${image} could not be resolved${o?.kind === 'error' ? `: ${o.message}` : ''}`);
  evidence['platforms'] = o.platforms;
  const have = o.platforms.map((p) => parsePlatform(p)).filter((p) => p !== undefined);
  // The host's platform: no variant on amd64, v8 (normalised away) on Linux arm64, Grace included. An index
  // must offer an entry that host's runtime selects; a single manifest is pulled whatever its variant.
  const provides = o.imageKind === 'index' ? platformSatisfies : singleManifestSatisfies;
  const missing = needs.filter(
    (n) => !have.some((p) => provides(p, { os: 'linux', architecture: n.architecture, variant: '' })),
  );
  if (missing.length === 0) {
    return [
      {
        status: 'pass',
        resource,
        message: `${fn.name} (${fn.versionId}) needs ${needs.map((n) => `linux/${n.architecture} (${n.because})`).join(' and ')}, and ${image} provides ${o.platforms.join(', ')}.`,
        evidence,
      },
    ];
  }
  return [
    {
      status: 'fail',
      resource,
      message: `${fn.name} (${fn.versionId}) needs ${missing.map((n) => `linux/${n.architecture} (${n.because})`).join(' and ')}, but ${image} provides only ${o.platforms.join(', ') || 'no runnable platform'}: its instances fail with 'exec format error'.`,
      evidence: { ...evidence, missing: missing.map((n) => `linux/${n.architecture}`) },
    },
  ];
}
