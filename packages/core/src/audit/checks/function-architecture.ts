/**
 * image.function-architecture: a deployed function version's image provides the CPU architecture of its
 * deployment's GPUs, as containerd selects index entries; Helm functions, whose images NVCF's API does not
 * name, are reported as not verified. Apart from image.function-image-present (`function-images.ts`), which
 * looks the images up first.
 */
import { AuditError } from '../../errors.ts';
import { parsePlatform, platformSatisfies, singleManifestSatisfies } from '../../image/platform.ts';
import type { NvcfFunctionView } from '../../ports/nvcf.ts';
import { guard, toFinding } from '../check.ts';
import type { AccountFacts } from '../facts.ts';
import {
  type ArchitectureNeed,
  type CpuArchitecture,
  functionResource,
  isDeployed,
  requiredArchitectures,
} from '../functions.ts';
import type { Finding, FindingDraft } from '../model.ts';
import { mapLimit } from '../pace.ts';
import type { UsedImage } from './function-images.ts';
import { imageFinding as f, IMAGE_CHECKS, type ImageCheckInput } from './image-catalog.ts';

/** image.function-architecture of deployed versions whose image exists. */
export async function architectureFindings(
  input: ImageCheckInput,
  used: readonly UsedImage[],
): Promise<Finding[]> {
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
export function helmFindings(functions: readonly NvcfFunctionView[]): Finding[] {
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
