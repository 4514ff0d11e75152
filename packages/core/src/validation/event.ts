import * as z from 'zod/mini';
import type { Config, RegistryConfig } from '../config/index.ts';
import { requiredPlatforms } from '../config/index.ts';
import { registryHostnameFor } from '../ecr/hostname.ts';
import { ECR_EVENT_SOURCE, ECR_IMAGE_ACTION } from '../events/names.ts';
import { digestProblem } from '../image/digest.ts';

/**
 * The `ECR Image Action` event the push rule delivers
 * (https://docs.aws.amazon.com/AmazonECR/latest/userguide/ecr-eventbridge.html), and which of them carry a
 * verdict.
 *
 * The schema is no stricter than AWS: the official samples have a 60-hex digest, an impossible date, non-hex
 * digests and `…-EXAMPLE` ids (the samples on the page above), and real events omit keys the samples show
 * (`image-tag` on archive events, `artifact-media-type` on an index). So it requires only what routing needs
 * (`source`, `detail-type`, `account`, `region`, and a `detail` object), keeps every detail key optional, and
 * lets unknown keys through (`target-storage-class`, fields AWS adds later). Whether a digest is usable is a
 * skip rule ({@link pushTarget}), not a schema failure.
 */

const optionalString = z.optional(z.string());

export const ecrImageActionDetailSchema = z.looseObject({
  'action-type': optionalString,
  result: optionalString,
  'repository-name': optionalString,
  'image-digest': optionalString,
  /** `""` for untagged manifests; absent on archive/restore events (ECR's samples). */
  'image-tag': optionalString,
  'manifest-media-type': optionalString,
  'artifact-media-type': optionalString,
});

export const ecrImageActionEventSchema = z.looseObject({
  version: optionalString,
  id: optionalString,
  'detail-type': z.string(),
  source: z.string(),
  account: z.string(),
  time: optionalString,
  region: z.string(),
  resources: z.optional(z.array(z.unknown())),
  detail: ecrImageActionDetailSchema,
});

/** An `ECR Image Action` event as the handler receives it after {@link ecrImageActionEventSchema}. */
export type EcrImageActionEvent = z.infer<typeof ecrImageActionEventSchema>;

/** Why an event carries no verdict. */
export type SkipCode =
  | 'not-an-image-action'
  | 'not-a-push'
  | 'not-successful'
  | 'untagged'
  | 'not-configured'
  | 'malformed';

export interface PushSkip {
  readonly skip: SkipCode;
  readonly reason: string;
}

/** The image a tagged push names, with what the configuration says about it. */
export interface PushTarget {
  readonly registry: RegistryConfig;
  /** The registry hostname derived from the event's account and region (partition-aware). */
  readonly hostname: string;
  readonly repository: string;
  readonly tag: string;
  readonly digest: string;
  readonly required: readonly string[];
}

/**
 * Decides whether `event` carries a verdict and, if so, about what. Skipped (in this order):
 * - not `aws.ecr` / `ECR Image Action` (a misrouted event);
 * - `action-type` other than `PUSH` (`DELETE`, `UPDATE_STORAGE_CLASS`) and `result` other than `SUCCESS`
 *   (filter on both: the docs show only `SUCCESS`, so every other value is not-success);
 * - no repository name (malformed);
 * - a repository not in the configuration: the registry is matched by hostname — derived from `account` and
 *   `region` with the partition's DNS suffix — AND repository, so a same-named repository of another account
 *   or region is not judged by this one's policy;
 * - untagged (`image-tag` empty or absent): the children and attestations of an index arrive untagged before
 *   the tagged index, which carries the verdict for all of them (as in the real
 *   events of https://github.com/awslabs/cfn-ecr-aws-soci-index-builder/pull/137);
 * - an `image-digest` that is missing or not a digest (malformed: nothing can be fetched by it).
 */
export function pushTarget(event: EcrImageActionEvent, config: Config): PushTarget | PushSkip {
  const d = event.detail;
  if (event.source !== ECR_EVENT_SOURCE || event['detail-type'] !== ECR_IMAGE_ACTION) {
    return {
      skip: 'not-an-image-action',
      reason: `not an ECR Image Action (source '${event.source}', detail-type '${event['detail-type']}'): check the rule that routes events to this function`,
    };
  }
  if (d['action-type'] !== 'PUSH') {
    return { skip: 'not-a-push', reason: `action-type '${d['action-type'] ?? '(absent)'}' is not a push` };
  }
  if (d.result !== 'SUCCESS') {
    return { skip: 'not-successful', reason: `result '${d.result ?? '(absent)'}' is not SUCCESS` };
  }
  const repository = d['repository-name'];
  if (!repository) return { skip: 'malformed', reason: 'detail.repository-name is missing or empty' };
  const hostname = registryHostnameFor(event.account, event.region);
  const registry = config.registries.find(
    (r) => r.kind === 'private' && r.hostname === hostname && r.repositories.includes(repository),
  );
  if (!registry) {
    return {
      skip: 'not-configured',
      reason: `repository ${repository} of ${hostname} is not in the configuration: only configured repositories are validated`,
    };
  }
  const tag = d['image-tag'];
  if (!tag) {
    return {
      skip: 'untagged',
      reason:
        'untagged manifest (a child or attestation of an index, or a push by digest): the tagged push carries the verdict',
    };
  }
  const digest = d['image-digest'];
  const problem = digest === undefined ? 'is missing' : digestProblem(digest);
  if (digest === undefined || problem) {
    return { skip: 'malformed', reason: `detail.image-digest ${problem}: the image cannot be fetched by it` };
  }
  return { registry, hostname, repository, tag, digest, required: requiredPlatforms(registry, repository) };
}
