import type { RegistryConfig } from '../config/index.ts';
import { DIGEST, repositoryNameProblem, TAG } from '../ecr/reference.ts';
import type { NvcfDeploymentView, NvcfFunctionView } from '../ports/nvcf.ts';

/**
 * How NVCF functions relate to the configured registries (NVCF's `FunctionDto` and `FunctionDeploymentDto`):
 * which function versions pull from a registry, which of them are deployed, and the CPU architecture each
 * deployment needs.
 */

/**
 * The registry hostname NVCF derives from a `containerImage`, as `getRegistryHostname` does
 * (NVIDIA/nvcf:src/control-plane-services/…/RegistryCredentialFunctionService.java): `https://` is prefixed
 * unless the string starts with `oci://` or `http`, then Java's `URI.getHost()` is taken: the port and any
 * user info are dropped, the case is kept (NVCF then compares it with credential hostnames exactly, with
 * `String.equals`). WHATWG `URL` lower-cases hosts, so it is not used.
 */
export function nvcfImageHost(image: string): string | undefined {
  const rest = /^(oci:\/\/|http)/.test(image) ? image.replace(/^[A-Za-z][A-Za-z0-9+.-]*:\/\//, '') : image;
  const authority = rest.split(/[/?#]/, 1)[0] ?? '';
  const host = authority.slice(authority.lastIndexOf('@') + 1).replace(/:\d*$/, '');
  return host === '' ? undefined : host;
}

/** A function version's container image, located in a configured registry. */
export interface FunctionImage {
  readonly fn: NvcfFunctionView;
  /** The `containerImage` as the function names it. */
  readonly image: string;
  readonly registry: RegistryConfig;
  /** Repository within the registry (an ECR Public repository without its alias). */
  readonly repository: string;
  readonly tag: string | undefined;
  readonly digest: string | undefined;
  /** Why the reference cannot be pulled from a configured repository, when it cannot. */
  readonly problem?: string | undefined;
}

/**
 * Statuses of a version that has (or had, for ERROR) instances: "deployed". Our inference from the statuses
 * https://docs.nvidia.com/cloud-functions/user-guide/latest/cloud-function/functions.html describes.
 */
const DEPLOYED = new Set(['ACTIVE', 'DEPLOYING', 'DEGRADED', 'DEGRADING', 'ERROR']);

/** True when the version has a deployment worth judging (ERROR counts: wrong-arch images end there). */
export function isDeployed(fn: Pick<NvcfFunctionView, 'status'>): boolean {
  return DEPLOYED.has(fn.status);
}

/**
 * Locates a function's image in one of `registries` (by exact host), or `undefined` when it pulls from
 * elsewhere. A reference on a configured host but outside its configured repositories comes back with a
 * `problem`: the pull user may not pull it, so NVCF cannot either.
 */
export function locateFunctionImage(
  fn: NvcfFunctionView,
  registries: readonly RegistryConfig[],
): FunctionImage | undefined {
  const image = fn.containerImage;
  if (!image) return undefined;
  const host = nvcfImageHost(image);
  const registry = registries.find((r) => r.hostname === host);
  if (!registry || host === undefined) return undefined;
  const base = { fn, image, registry };
  let path = image.replace(/^[A-Za-z][A-Za-z0-9+.-]*:\/\//, '');
  path = path.slice(path.indexOf('/') + 1);
  let digest: string | undefined;
  const at = path.indexOf('@');
  if (at >= 0) {
    digest = path.slice(at + 1);
    path = path.slice(0, at);
  }
  let tag: string | undefined;
  const colon = path.lastIndexOf(':');
  if (colon > path.lastIndexOf('/')) {
    tag = path.slice(colon + 1);
    path = path.slice(0, colon);
  }
  if (tag === undefined && digest === undefined) tag = 'latest';
  let repository = path;
  if (registry.kind === 'public') {
    // public.ecr.aws/<alias>/<repository>: the alias names the registry, not the repository.
    const slash = path.indexOf('/');
    const alias = slash >= 0 ? path.slice(0, slash) : '';
    repository = slash >= 0 ? path.slice(slash + 1) : path;
    if (registry.publicAlias !== undefined && alias !== registry.publicAlias) {
      return {
        ...base,
        repository,
        tag,
        digest,
        problem: `its alias '${alias}' is not the registry's alias '${registry.publicAlias}'`,
      };
    }
  }
  if (digest !== undefined && !DIGEST.test(digest))
    return { ...base, repository, tag, digest, problem: `'${digest}' is not a valid digest` };
  if (tag !== undefined && !TAG.test(tag))
    return { ...base, repository, tag, digest, problem: `'${tag}' is not a valid tag` };
  const bad = repositoryNameProblem(repository);
  if (bad) return { ...base, repository, tag, digest, problem: `repository '${repository}' ${bad}` };
  if (!registry.repositories.includes(repository)) {
    return {
      ...base,
      repository,
      tag,
      digest,
      problem: `repository '${repository}' is not configured for registry ${registry.name}, so the pull user may not pull it`,
    };
  }
  return { ...base, repository, tag, digest };
}

export type CpuArchitecture = 'amd64' | 'arm64';

export interface ArchitectureNeed {
  /** `unknown`: NVCF gave no `cpuArch` and the GPU is not one whose CPU architecture is known (a finding). */
  readonly architecture: CpuArchitecture | 'unknown';
  /** Which specification asks for it and why, for evidence and messages. */
  readonly because: string;
}

// Grace CPUs are Arm: GB200/GB300 (Grace Blackwell; GB200 "requires ARM64",
// https://docs.nvidia.com/cloud-functions/user-guide/latest/cloud-function/third-party-registries.html) and
// GH200 (Grace Hopper, the same CPU; no NVIDIA page says so for NVCF, included by the same reasoning).
// Anchored on both sides: `GB2000` is not a GB200.
const GRACE = /^G[BH]\d{3}$/i;
// The same names inside an instance type (`AWS.GPU.GB200_4x.x2`, `DGX-GB200.1x`), delimited by anything but a
// letter or digit, so `xgb2000` or `gb2001` do not count.
const GRACE_IN_INSTANCE_TYPE = /(?:^|[^a-z0-9])g[bh]\d{3}(?![0-9])/i;
// GPUs NVCF runs on x86-64 hosts: the data-centre A/B/H/L/T/V parts (B200 systems, DGX B200 included, have x86
// CPUs). Anything else, without a `cpuArch`, is `unknown` rather than a guess.
const X86_GPU = /^(?:A\d{1,3}G?|B\d{3}|H\d{3}|L\d{1,2}[GS]?|T4|V100)$/i;

function normaliseArch(cpuArch: string): CpuArchitecture | undefined {
  const a = cpuArch.trim().toLowerCase();
  if (a === 'arm64' || a === 'aarch64') return 'arm64';
  if (a === 'amd64' || a === 'x86_64' || a === 'x86-64') return 'amd64';
  return undefined;
}

/**
 * The architectures a deployment needs, one per distinct need (our inference: NVCF fills `cpuArch` from its
 * instance-type catalogue, `GpuSpecificationDto`; GB200 requires arm64, see {@link GRACE}): a
 * specification's `cpuArch` when NVCF filled it, else arm64 for Grace GPUs (by GPU name or instance type),
 * amd64 for the data-centre GPUs of x86-64 hosts, and `unknown` for anything else.
 */
export function requiredArchitectures(deployment: NvcfDeploymentView): ArchitectureNeed[] {
  const out: ArchitectureNeed[] = [];
  for (const spec of deployment.deploymentSpecifications) {
    const declared = spec.cpuArch ? normaliseArch(spec.cpuArch) : undefined;
    const need: ArchitectureNeed =
      declared !== undefined
        ? {
            architecture: declared,
            because: `${spec.gpu} (${spec.instanceType}) has cpuArch ${spec.cpuArch}`,
          }
        : GRACE.test(spec.gpu) || GRACE_IN_INSTANCE_TYPE.test(spec.instanceType)
          ? { architecture: 'arm64', because: `${spec.gpu} (${spec.instanceType}) runs on Grace (Arm) CPUs` }
          : X86_GPU.test(spec.gpu)
            ? { architecture: 'amd64', because: `${spec.gpu} (${spec.instanceType}) runs on x86-64 CPUs` }
            : {
                architecture: 'unknown',
                because: `${spec.gpu} (${spec.instanceType}) has no cpuArch and is not a GPU whose CPU architecture is known`,
              };
    if (!out.some((o) => o.architecture === need.architecture)) out.push(need);
  }
  return out;
}

/** `nvcf:function/<id>/version/<versionId>`: how findings name a function version. */
export function functionResource(fn: Pick<NvcfFunctionView, 'id' | 'versionId'>): string {
  return `nvcf:function/${fn.id}/version/${fn.versionId}`;
}

/**
 * Function versions that may pull with a registry's credential: by image host, plus every Helm function
 * (`checks/function-architecture.ts`).
 */
export function credentialUsers(
  registry: RegistryConfig,
  functions: readonly NvcfFunctionView[],
): { containerFunctions: NvcfFunctionView[]; helmFunctions: NvcfFunctionView[] } {
  const live = functions.filter((f) => f.status !== 'DELETED');
  return {
    containerFunctions: live.filter(
      (f) => f.containerImage !== undefined && nvcfImageHost(f.containerImage) === registry.hostname,
    ),
    // NVCF hands a Helm function every CONTAINER credential of the account, not knowing which hosts its chart uses.
    helmFunctions: live.filter((f) => !f.containerImage && f.helmChart !== undefined),
  };
}
