import { HostnameError, ImageReferenceError } from '../errors.ts';
import { parseRegistryHostname, type RegistryHost } from './hostname.ts';
import type { Partition } from './regions.ts';

/**
 * ECR repository names (https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_BatchGetImage.html):
 * 2–256 characters of path components.
 */
export const REPOSITORY_NAME = /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
/** Image tags as ECR and the distribution spec allow them. */
export const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
/** Content digests: sha256 (64 hex) or sha512 (128 hex), lower case. */
export const DIGEST = /^(?:sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

export interface ImageReference {
  readonly registry: RegistryHost;
  readonly repository: string;
  /** The tag; `latest` when the reference names neither tag nor digest, as docker does. */
  readonly tag: string | undefined;
  readonly digest: string | undefined;
}

/** Why a repository name is invalid, or `undefined` when it is fine. */
export function repositoryNameProblem(name: string): string | undefined {
  if (name.length < 2 || name.length > 256) return `must be 2 to 256 characters long (got ${name.length})`;
  if (name !== name.toLowerCase()) return `must be lower case (use '${name.toLowerCase()}')`;
  if (!REPOSITORY_NAME.test(name)) {
    return 'must be path components of [a-z0-9] separated by single . _ - within and / between components';
  }
  return undefined;
}

/**
 * Parses `host/repository[:tag][@digest]` where host is an ECR registry hostname. Throws
 * {@link ImageReferenceError} naming the part at fault.
 */
export function parseImageReference(input: string): ImageReference {
  const fail = (message: string, cause?: unknown): never => {
    throw new ImageReferenceError(
      `Image reference '${input}' ${message}`,
      input,
      cause ? { cause } : undefined,
    );
  };
  if (typeof input !== 'string' || input.trim() === '') {
    throw new ImageReferenceError(
      'Image reference is empty: give <registry>/<repository>:<tag> or @sha256:<digest>',
      '',
    );
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(input))
    fail('includes a scheme: drop it, e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com/app:v1');
  const slash = input.indexOf('/');
  if (slash < 0) fail('has no repository: expected <registry>/<repository>[:tag][@digest]');
  const hostPart = input.slice(0, slash);
  let registry: RegistryHost;
  try {
    registry = parseRegistryHostname(hostPart);
  } catch (err) {
    return fail(`has an invalid registry: ${err instanceof HostnameError ? err.message : String(err)}`, err);
  }
  let rest = input.slice(slash + 1);
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest))
      fail(`has an invalid digest '${digest}': expected sha256:<64 lower-case hex characters>`);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon >= 0) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag))
      fail(`has an invalid tag '${tag}': tags are 1–128 of [A-Za-z0-9_.-] and do not start with . or -`);
  }
  const problem = repositoryNameProblem(rest);
  if (problem) fail(`has an invalid repository name '${rest}': it ${problem}`);
  if (tag === undefined && digest === undefined) tag = 'latest';
  return { registry, repository: rest, tag, digest };
}

/** `host/repo:tag@digest` with whatever parts are set. */
export function formatImageReference(ref: {
  registry: { hostname: string };
  repository: string;
  tag?: string | undefined;
  digest?: string | undefined;
}): string {
  return `${ref.registry.hostname}/${ref.repository}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

/** ARN of a private ECR repository, partition-correct. */
export function repositoryArn(
  partition: Partition,
  region: string,
  accountId: string,
  repository: string,
): string {
  return `arn:${partition}:ecr:${region}:${accountId}:repository/${repository}`;
}

/** ARN of an ECR Public repository (global service, so no region). */
export function publicRepositoryArn(accountId: string, repository: string): string {
  return `arn:aws:ecr-public::${accountId}:repository/${repository}`;
}
