import { ECRClient } from '@aws-sdk/client-ecr';
import { type ImageReference, parseImageReference } from '@nvcf-ecr/core/ecr';
import { ImageReferenceError } from '@nvcf-ecr/core/errors';
import {
  type EcrImageApi,
  type ImageSource,
  openDockerArchive,
  openEcrSource,
  openOciArchive,
  openOciLayout,
  splitPathAndReference,
} from '@nvcf-ecr/core/image';
import { UsageError } from './errors.ts';

/**
 * Image sources the CLI can read. A local source spec is `<prefix>:<rest>`; the opener gets `<rest>` and
 * says which reference it selects. A spec without a known prefix whose first path component is a host name
 * is an ECR image (`<account>.dkr.ecr.<region>.amazonaws.com/repo:tag` or `@sha256:...`), read through the
 * ECR API (`BatchGetImage`, `GetDownloadUrlForLayer`) with the standard AWS credential chain.
 */

export interface OpenedSource {
  source: ImageSource;
  /** The reference inside the source (`undefined`: the only image it holds). */
  reference: string | undefined;
  /** For an ECR image: its registry hostname and repository (which pick the configured platform policy). */
  ecr?: { hostname: string; repository: string } | undefined;
}

/** What sources that reach a service need from the command line. */
export interface SourceContext {
  /** AWS endpoint override (`--endpoint`, e.g. the sandbox's awsEndpoint). */
  readonly endpoint?: string | undefined;
  /** Builds the ECR client for a region (tests inject one); default: an SDK client, standard credential chain. */
  readonly ecrClient?: ((region: string) => EcrImageApi) | undefined;
}

/** The ECR image forms, for help and error messages. */
export const ECR_SYNTAX = '<account>.dkr.ecr.<region>.amazonaws.com/<repository>[:<tag>|@<digest>]';

export interface SourceKind {
  /** `oci:<dir>[:<ref>]`, for help and error messages. */
  syntax: string;
  open(rest: string): Promise<OpenedSource>;
}

export const SOURCES: Readonly<Record<string, SourceKind>> = {
  oci: {
    syntax: 'oci:<dir>[:<ref>]',
    async open(rest) {
      const { path, reference } = splitPathAndReference(rest);
      return { source: await openOciLayout(path), reference };
    },
  },
  'oci-archive': {
    syntax: 'oci-archive:<file.tar>[:<ref>]',
    async open(rest) {
      const { path, reference } = splitPathAndReference(rest);
      return { source: await openOciArchive(path), reference };
    },
  },
  'docker-archive': {
    syntax: 'docker-archive:<file.tar>[:<repo:tag>]',
    async open(rest) {
      const { path, reference } = splitPathAndReference(rest);
      return { source: await openDockerArchive(path), reference };
    },
  },
};

/** Opens the source a spec names; an unknown prefix or an empty path is a usage error. */
export async function openSource(
  spec: string,
  command: string,
  context: SourceContext = {},
): Promise<OpenedSource> {
  const colon = spec.indexOf(':');
  const prefix = colon < 0 ? '' : spec.slice(0, colon);
  const kind = Object.hasOwn(SOURCES, prefix) ? SOURCES[prefix] : undefined;
  if (!kind && isRegistryReference(spec)) return openEcr(spec, command, context);
  const forms = [...Object.values(SOURCES).map((s) => s.syntax), ECR_SYNTAX].join(' or ');
  if (!kind) throw new UsageError(`'${spec}' is not an image source: use ${forms}`, command);
  const rest = spec.slice(colon + 1);
  if (rest === '' || rest.startsWith(':'))
    throw new UsageError(`'${spec}' names no path: use ${kind.syntax}`, command);
  return kind.open(rest);
}

/**
 * `host.name/...`: a registry reference, told from a path the way docker does (a first component with a dot,
 * here one shaped like a DNS name so that `./dir` and `../dir` stay paths).
 */
function isRegistryReference(spec: string): boolean {
  const slash = spec.indexOf('/');
  return slash > 0 && /^[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+(?::\d+)?$/.test(spec.slice(0, slash));
}

function openEcr(spec: string, command: string, context: SourceContext): OpenedSource {
  let ref: ImageReference;
  try {
    ref = parseImageReference(spec);
  } catch (err) {
    if (err instanceof ImageReferenceError) throw new UsageError(err.message, command, { cause: err });
    throw err;
  }
  const { registry } = ref;
  if (registry.kind !== 'private') {
    throw new UsageError(
      `'${spec}' is an ECR Public image, which the ECR API does not serve: copy it with 'skopeo copy docker://${spec} oci:DIR:TAG' and check oci:DIR:TAG`,
      command,
    );
  }
  const own = context.ecrClient
    ? undefined
    : new ECRClient({
        region: registry.region,
        ...(context.endpoint ? { endpoint: context.endpoint } : {}),
        maxAttempts: 3,
      });
  const ecr = context.ecrClient?.(registry.region) ?? (own as ECRClient);
  const source = openEcrSource({
    ecr,
    repository: ref.repository,
    registryId: registry.accountId,
    description: spec,
  });
  return {
    // As docker does, a reference with both a tag and a digest is read by its digest.
    reference: ref.digest ?? ref.tag,
    ecr: { hostname: registry.hostname, repository: ref.repository },
    source: {
      ...source,
      close: async () => {
        await source.close();
        own?.destroy();
      },
    },
  };
}
