/**
 * The image checks' definitions (Prowler-style metadata), their input, and how an image is named in a
 * finding. Apart from the checks themselves (`repository-images.ts`, `function-images.ts`,
 * `function-architecture.ts`), which all build findings from these.
 */
import type { RegistryConfig } from '../../config/index.ts';
import type { Logger } from '../../log.ts';
import { toFinding } from '../check.ts';
import type { AccountFacts } from '../facts.ts';
import type { ImageScanner, ScannedImage } from '../images.ts';
import type { CheckDefinition, FindingDraft } from '../model.ts';

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
      'Every runnable child manifest (and its config) that a tagged index or manifest list refers to is returned by ECR: none was deleted by a lifecycle rule or by hand, and none was archived (an archived image cannot be pulled, so an archived child is missing). Entries the index itself marks as attestations or artifacts (vnd.docker.reference.type, unknown/unknown, artifactType) and entries with an empty platform are not fetched, so their absence is not checked.',
    remediation:
      'Push the multi-platform image again (its children come back with it, archived ones restored), and make lifecycle rules spare untagged children of tagged indexes, from deletion and from archiving.',
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

/** A finding of an image check, attributed to its registry. */
export const imageFinding = (
  def: CheckDefinition,
  registry: RegistryConfig | undefined,
  draft: FindingDraft,
) => toFinding(def, draft, registry?.name);
