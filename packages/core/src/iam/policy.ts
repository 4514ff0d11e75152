import type { RegistryConfig } from '../config/index.ts';
import { parseRegistryHostname } from '../ecr/hostname.ts';
import { publicRepositoryArn, repositoryArn, repositoryNameProblem } from '../ecr/reference.ts';
import type { Partition } from '../ecr/regions.ts';
import { ConfigError, type ConfigIssue, HostnameError } from '../errors.ts';

/**
 * NVCF's minimal pull policy
 * (https://docs.nvidia.com/cloud-functions/user-guide/latest/cloud-function/aws-ecr.html,
 * https://docs.nvidia.com/nvcf/third-party-registries): the one identity policy the pull user gets, generated
 * from the configuration so the stacks, the CLI and the audit agree on it to the letter.
 */

export interface PolicyStatement {
  readonly Sid: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Action: readonly string[];
  readonly Resource: readonly string[];
}

export interface PolicyDocument {
  readonly Version: '2012-10-17';
  readonly Statement: readonly PolicyStatement[];
}

/** One permission NVCF needs: an action on a resource (`*` for actions that take no resource). */
export interface Permission {
  readonly action: string;
  readonly resource: string;
}

/**
 * What a pull policy is computed from: a configured registry ({@link RegistryConfig} fits), or the CLI's
 * `--hostname/--repository`.
 */
export interface PullScope {
  readonly kind: 'private' | 'public';
  readonly partition: Partition;
  /** The registry's region; ECR Public's is `us-east-1` and does not appear in its ARNs. */
  readonly region: string;
  readonly accountId: string;
  readonly repositories: readonly string[];
}

/** Actions NVCF calls on each private repository it pulls from (the pages above), in NVIDIA's order. */
export const PRIVATE_PULL_ACTIONS = [
  'ecr:BatchGetImage',
  'ecr:GetDownloadUrlForLayer',
  'ecr:BatchCheckLayerAvailability',
  'ecr:DescribeImages',
] as const;
/** Actions that take no resource and must be granted on `*`: the private registry's token. */
export const PRIVATE_TOKEN_ACTIONS = ['ecr:GetAuthorizationToken'] as const;
/**
 * ECR Public's token needs both its own action and STS's bearer-token permission
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_bearer.html).
 */
export const PUBLIC_TOKEN_ACTIONS = [
  'ecr-public:GetAuthorizationToken',
  'sts:GetServiceBearerToken',
] as const;
/** Actions NVCF calls on each public repository (https://docs.nvidia.com/nvcf/third-party-registries). */
export const PUBLIC_PULL_ACTIONS = ['ecr-public:DescribeImages'] as const;

/**
 * Statement ids. Fixed strings (IAM allows only `[A-Za-z0-9]`) so a regenerated template diffs only where
 * the permissions changed.
 */
export const PULL_POLICY_SIDS = {
  privateToken: 'NvcfEcrGetAuthorizationToken',
  privatePull: 'NvcfEcrPullConfiguredRepositories',
  publicToken: 'NvcfEcrPublicGetAuthorizationToken',
  publicPull: 'NvcfEcrPublicDescribeConfiguredRepositories',
} as const;

/** ARNs of the scope's repositories, partition-correct, de-duplicated and sorted (stable templates). */
export function pullRepositoryArns(scope: PullScope): string[] {
  const arns = scope.repositories.map((r) =>
    scope.kind === 'public'
      ? publicRepositoryArn(scope.accountId, r)
      : repositoryArn(scope.partition, scope.region, scope.accountId, r),
  );
  return [...new Set(arns)].sort();
}

/**
 * NVCF's minimal pull policy for a registry. Private: `ecr:GetAuthorizationToken` on `*` in its own
 * statement (the action takes no resource), and the four pull actions on exactly the configured
 * repositories. Public: `ecr-public:GetAuthorizationToken` and `sts:GetServiceBearerToken` on `*`, and
 * `ecr-public:DescribeImages` on the configured public repositories.
 *
 * @example
 * const doc = minimalPullPolicy(config.registries[0]);
 * new iam.Policy(stack, 'PullPolicy', { document: iam.PolicyDocument.fromJson(doc) });
 */
export function minimalPullPolicy(scope: PullScope): PolicyDocument {
  assertScope(scope);
  const arns = pullRepositoryArns(scope);
  if (scope.kind === 'public') {
    return {
      Version: '2012-10-17',
      Statement: [
        {
          Sid: PULL_POLICY_SIDS.publicToken,
          Effect: 'Allow',
          Action: [...PUBLIC_TOKEN_ACTIONS],
          Resource: ['*'],
        },
        {
          Sid: PULL_POLICY_SIDS.publicPull,
          Effect: 'Allow',
          Action: [...PUBLIC_PULL_ACTIONS],
          Resource: arns,
        },
      ],
    };
  }
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: PULL_POLICY_SIDS.privateToken,
        Effect: 'Allow',
        Action: [...PRIVATE_TOKEN_ACTIONS],
        Resource: ['*'],
      },
      {
        Sid: PULL_POLICY_SIDS.privatePull,
        Effect: 'Allow',
        Action: [...PRIVATE_PULL_ACTIONS],
        Resource: arns,
      },
    ],
  };
}

/**
 * Every (action, resource) NVCF needs to pull from the registry: what the audit and the sandbox tests
 * check is allowed. Same content as {@link minimalPullPolicy}, one pair per line.
 */
export function requiredPullPermissions(scope: PullScope): Permission[] {
  assertScope(scope);
  const tokenActions = scope.kind === 'public' ? PUBLIC_TOKEN_ACTIONS : PRIVATE_TOKEN_ACTIONS;
  const pullActions = scope.kind === 'public' ? PUBLIC_PULL_ACTIONS : PRIVATE_PULL_ACTIONS;
  const out: Permission[] = tokenActions.map((action) => ({ action, resource: '*' }));
  for (const resource of pullRepositoryArns(scope)) {
    for (const action of pullActions) out.push({ action, resource });
  }
  return out;
}

export interface PullPolicyRequest {
  /** Registry hostname: `<account>.dkr.ecr.<region>.<suffix>` (any partition) or `public.ecr.aws`. */
  readonly hostname: string;
  readonly repositories: readonly string[];
  /** Owner account of an ECR Public registry; private registries take it from the hostname. */
  readonly accountId?: string | undefined;
}

/**
 * The minimal pull policy for a hostname and repositories given on the command line
 * (`nvcf-ecr policy --hostname H --repository R...`). Unlike the configuration, this accepts every ECR
 * hostname form (FIPS, dual-stack, China, GovCloud, ISO): the policy is IAM's business, and whether NVCF
 * accepts the hostname is reported separately (`nvcfRecognition`). Throws {@link ConfigError} listing
 * every problem with the inputs.
 */
export function pullPolicyFor(request: PullPolicyRequest): PolicyDocument {
  const issues: ConfigIssue[] = [];
  let scope: PullScope | undefined;
  try {
    const host = parseRegistryHostname(request.hostname);
    if (host.kind === 'private' && request.accountId !== undefined && request.accountId !== host.accountId) {
      issues.push({
        path: 'accountId',
        message: `${request.accountId} differs from the account in hostname ${request.hostname}: drop accountId`,
      });
    }
    const accountId = host.kind === 'private' ? host.accountId : (request.accountId ?? '');
    scope = {
      kind: host.kind,
      partition: host.partition,
      region: host.region,
      accountId,
      repositories: request.repositories,
    };
    issues.push(...accountIssues(scope));
  } catch (err) {
    if (!(err instanceof HostnameError)) throw err;
    issues.push({ path: 'hostname', message: err.message });
  }
  issues.push(...repositoryIssues(request.repositories));
  if (issues.length > 0 || scope === undefined) throw new ConfigError(issues, 'policy options');
  return minimalPullPolicy(scope);
}

function accountIssues(scope: PullScope): ConfigIssue[] {
  if (/^\d{12}$/.test(scope.accountId)) return [];
  const message =
    scope.kind === 'public'
      ? 'ECR Public registries need the owner account: give its 12-digit id'
      : `'${scope.accountId}' is not a 12-digit AWS account id`;
  return [{ path: 'accountId', message }];
}

function repositoryIssues(repositories: readonly string[]): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if (repositories.length === 0) {
    issues.push({ path: 'repositories', message: 'must list at least one repository NVCF may pull from' });
  }
  repositories.forEach((r, i) => {
    const problem = repositoryNameProblem(r);
    if (problem) issues.push({ path: `repositories[${i}]`, message: `repository '${r}' ${problem}` });
  });
  return issues;
}

function assertScope(scope: PullScope): void {
  const issues = [...accountIssues(scope), ...repositoryIssues(scope.repositories)];
  if (issues.length > 0) throw new ConfigError(issues, 'pull policy scope');
}
