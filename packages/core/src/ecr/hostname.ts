import { HostnameError } from '../errors.ts';
import { ALL_REGIONS, type Partition, partitionOfRegion } from './regions.ts';

/**
 * ECR registry hostnames (https://docs.aws.amazon.com/general/latest/gr/ecr.html): private standard, FIPS,
 * dual-stack, China and the isolated partitions, and ECR Public. {@link parseRegistryHostname} says what a
 * hostname *is*; {@link nvcfRecognition} says, separately, whether NVCF's credential API will accept it,
 * which is a narrower set (`RegistryMapperService.toNormalizedRecognizedRegistryHostname` in
 * NVIDIA/nvcf:src/libraries/java/nv-boot-parent/nv-boot-starter-registries/).
 */

export interface PrivateRegistryHost {
  readonly kind: 'private';
  readonly hostname: string;
  readonly accountId: string;
  readonly region: string;
  readonly partition: Partition;
  /** DNS suffix of the partition's standard endpoints (`amazonaws.com`, `amazonaws.com.cn`, ...). */
  readonly dnsSuffix: string;
  readonly fips: boolean;
  readonly dualStack: boolean;
}

export interface PublicRegistryHost {
  readonly kind: 'public';
  readonly hostname: 'public.ecr.aws' | 'ecr-public.aws.com';
  /**
   * ECR Public authenticates in us-east-1
   * (https://docs.aws.amazon.com/AmazonECR/latest/public/public-registry-auth.html).
   */
  readonly region: 'us-east-1';
  readonly partition: 'aws';
  readonly dualStack: boolean;
}

export type RegistryHost = PrivateRegistryHost | PublicRegistryHost;

export const ECR_PUBLIC_HOSTNAME = 'public.ecr.aws';
const ECR_PUBLIC_DUALSTACK = 'ecr-public.aws.com';

// <account>.<service label>.<region>.<suffix>; the pieces are checked one by one below so that the error
// names the piece at fault instead of saying "does not match".
const PRIVATE_SHAPE = /^([^.]+)\.(dkr\.ecr|dkr\.ecr-fips|dkr-ecr|dkr-ecr-fips)\.([^.]+)\.(.+)$/;
const EXAMPLE = '123456789012.dkr.ecr.us-east-1.amazonaws.com';

/**
 * Parses a registry hostname. Throws {@link HostnameError} naming the fault: a scheme, path or port,
 * upper case, an account id that is not 12 digits, an unknown region, a suffix from the wrong partition,
 * or a FIPS form in a region without FIPS endpoints.
 */
export function parseRegistryHostname(input: string): RegistryHost {
  const fail = (message: string): never => {
    throw new HostnameError(`Registry hostname '${input}' ${message}`, input);
  };
  if (typeof input !== 'string' || input.length === 0) {
    throw new HostnameError(`Registry hostname is empty: give one such as ${EXAMPLE} or public.ecr.aws`, '');
  }
  if (/\s/.test(input)) fail('contains white space: give the bare hostname');
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(input);
  if (scheme) fail(`includes a scheme ('${scheme[1]}://'): give the bare hostname, e.g. ${EXAMPLE}`);
  const slash = input.indexOf('/');
  if (slash >= 0) {
    fail(
      `includes a path ('${input.slice(slash)}'): the registry hostname is the part before the first '/', ` +
        `'${input.slice(0, slash)}'`,
    );
  }
  const port = /:(\d*)$/.exec(input);
  if (port || input.includes(':')) {
    fail(
      `includes a port ('${port ? port[0] : input.slice(input.indexOf(':'))}'): NVCF compares hostnames exactly ` +
        'and without a port',
    );
  }
  if (input !== input.toLowerCase()) {
    fail(
      `contains upper-case letters: ECR hostnames are lower case and NVCF compares them case-sensitively; ` +
        `use '${input.toLowerCase()}'`,
    );
  }
  if (input === ECR_PUBLIC_HOSTNAME || input === ECR_PUBLIC_DUALSTACK) {
    return {
      kind: 'public',
      hostname: input,
      region: 'us-east-1',
      partition: 'aws',
      dualStack: input === ECR_PUBLIC_DUALSTACK,
    };
  }
  const m = PRIVATE_SHAPE.exec(input);
  if (!m) {
    return fail(
      `is not an Amazon ECR registry hostname: expected <12-digit account>.dkr.ecr.<region>.amazonaws.com (e.g. ${EXAMPLE}) or public.ecr.aws`,
    );
  }
  const [, account = '', label = '', region = '', suffix = ''] = m;
  if (!/^\d+$/.test(account)) fail(`has '${account}' where the 12-digit AWS account id belongs`);
  if (account.length !== 12) {
    fail(
      `has an account id of ${account.length} digits ('${account}'): ECR registry ids have exactly 12 digits`,
    );
  }
  const info = partitionOfRegion(region);
  if (!info) fail(`names an unknown AWS region '${region}'${suggestRegion(region)}`);
  const p = info as NonNullable<typeof info>;
  const fips = label.endsWith('-fips');
  const dualStack = label.startsWith('dkr-ecr') || suffix === p.dualStackSuffix;
  if (label.startsWith('dkr-ecr')) {
    // The `dkr-ecr` label exists only on the dual-stack `on.aws` domain.
    if (suffix !== 'on.aws' || p.dualStackSuffix !== 'on.aws') {
      // China's dual-stack hosts keep the `dkr.ecr` label; the isolated partitions have none.
      const form =
        p.dualStackSuffix === 'on.aws'
          ? `dual-stack hosts look like <account>.dkr-ecr.${region}.on.aws`
          : p.dualStackSuffix
            ? `dual-stack hosts in ${p.partition} look like <account>.dkr.ecr.${region}.${p.dualStackSuffix}`
            : `partition ${p.partition} has no dual-stack registry endpoints`;
      fail(`uses the dual-stack label 'dkr-ecr' with suffix '${suffix}': ${form}`);
    }
  } else if (suffix !== p.dnsSuffix && !(p.partition === 'aws-cn' && suffix === p.dualStackSuffix)) {
    fail(
      `ends in '${suffix}', but region ${region} is in partition ${p.partition}, whose hosts end in '${p.dnsSuffix}'`,
    );
  }
  if (fips && !p.fipsRegions.includes(region)) {
    fail(
      `uses a FIPS endpoint, but ECR has no FIPS endpoint in ${region} (US, Canada and GovCloud regions only)`,
    );
  }
  return {
    kind: 'private',
    hostname: input,
    accountId: account,
    region,
    partition: p.partition,
    dnsSuffix: p.dnsSuffix,
    fips,
    dualStack,
  };
}

/** Like {@link parseRegistryHostname} but returns `undefined` instead of throwing. */
export function tryParseRegistryHostname(input: string): RegistryHost | undefined {
  try {
    return parseRegistryHostname(input);
  } catch (err) {
    if (err instanceof HostnameError) return undefined;
    throw err;
  }
}

function suggestRegion(region: string): string {
  const close = ALL_REGIONS.filter((r) => editDistance(r, region) <= 2);
  return close.length > 0 ? ` (did you mean ${close.map((r) => `'${r}'`).join(' or ')}?)` : '';
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j] ?? 0;
      row[j] = Math.min((row[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length] ?? 0;
}

export type NvcfRecognition =
  | { readonly recognized: true }
  | { readonly recognized: false; readonly reason: string };

// NVCF maps `\d{12}\.dkr\.ecr\.(<Java SDK regions>)\.amazonaws\.com` (full match, case-sensitive) onto its
// recognised registry `dkr.ecr.amazonaws.com`, and knows `public.ecr.aws`; nothing else: no FIPS, no
// dual-stack, no `.cn` (`RegistryMapperService`,
// NVIDIA/nvcf:src/libraries/java/nv-boot-parent/nv-boot-starter-registries/).
const NVCF_PRIVATE = new RegExp(`^\\d{12}\\.dkr\\.ecr\\.(?:${ALL_REGIONS.join('|')})\\.amazonaws\\.com$`);

/**
 * Whether NVCF's registry-credential API will accept `hostname` for CONTAINER credentials. A hostname can
 * be a valid ECR host and still be refused (FIPS, dual-stack, China), in which case `reason` says why and
 * what to use instead.
 */
export function nvcfRecognition(hostname: string): NvcfRecognition {
  if (hostname === ECR_PUBLIC_HOSTNAME || NVCF_PRIVATE.test(hostname)) return { recognized: true };
  const host = tryParseRegistryHostname(hostname);
  if (!host) {
    return { recognized: false, reason: `'${hostname}' is not an ECR registry hostname NVCF knows` };
  }
  if (host.kind === 'public') {
    return {
      recognized: false,
      reason: `NVCF recognises ECR Public only as 'public.ecr.aws', not '${hostname}'`,
    };
  }
  const standard = `${host.accountId}.dkr.ecr.${host.region}.amazonaws.com`;
  const form = host.fips ? 'FIPS' : host.dualStack ? 'dual-stack' : `${host.partition} partition`;
  return {
    recognized: false,
    reason:
      `NVCF recognises only the standard form <account>.dkr.ecr.<region>.amazonaws.com; the ${form} hostname ` +
      `'${hostname}' is refused with 400 "CONTAINER registry with hostname ... is not yet recognized"` +
      (host.partition === 'aws' || host.partition === 'aws-us-gov' ? ` (use '${standard}')` : ''),
  };
}

/** The standard registry hostname of an account and region, with the partition's DNS suffix. */
export function registryHostnameFor(accountId: string, region: string): string {
  const p = partitionOfRegion(region);
  return `${accountId}.dkr.ecr.${region}.${p ? p.dnsSuffix : 'amazonaws.com'}`;
}
