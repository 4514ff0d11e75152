import type { RegistryConfig } from '../config/index.ts';
import { publicRepositoryArn, repositoryArn } from '../ecr/reference.ts';
import { partitionOfRegion } from '../ecr/regions.ts';
import {
  type Permission,
  PRIVATE_PULL_ACTIONS,
  PUBLIC_PULL_ACTIONS,
  type PullScope,
  pullRepositoryArns,
} from './policy.ts';

/**
 * The fixed samples the audit asks AWS about beside what the policies' own statements name: dangerous
 * actions on resources that matter to the pull user, and the pull actions on repositories NVCF must not
 * reach. They catch what wildcard actions and `NotAction` grant, which no statement spells out.
 */

/** A registry as the probes need it: the pull scope, plus the rotated secret's name. */
export interface PullAccessScope extends PullScope {
  readonly secretName?: RegistryConfig['secretName'] | undefined;
}

/** One (action, resource) to ask about. */
export type Probe = Permission;

export interface ProbeContext extends PullAccessScope {
  readonly userName: string;
  /** The pull user's account (the registry's account may differ). */
  readonly principalAccount: string;
}

// A fixed, valid KMS key id: only its shape matters to the simulation.
const PROBE_KEY_ID = '0f1e2d3c-4b5a-4697-8a1b-2c3d4e5f6a7b';
const PROBE_NAME = 'nvcf-ecr-audit-probe';

/**
 * The sample of dangerous actions the audit probes, on resources that make each one matter to this user:
 * writes to the very repositories NVCF pulls from (image poisoning), key and policy management of the pull
 * user itself (a leaked key could mint a successor or widen its own rights), role passing and assumption,
 * data reads and writes (S3, Secrets Manager including the rotated secret itself, KMS), code execution.
 * `SimulatePrincipalPolicy` reads no resource policy unless given one, so each probe is judged on the user's
 * own policies: what the user could do wherever a resource policy (a key policy, another account's
 * repository policy) lets its account in.
 */
export function dangerousActionProbes(ctx: ProbeContext): Probe[] {
  const pub = ctx.kind === 'public';
  const partition = pub ? 'aws' : ctx.partition;
  const region = pub ? 'us-east-1' : ctx.region;
  // The repository belongs to the registry's account; everything else to the pull user's.
  const account = ctx.principalAccount;
  const repo = [...ctx.repositories].sort()[0] ?? PROBE_NAME;
  const repoArn = pub
    ? publicRepositoryArn(ctx.accountId, repo)
    : repositoryArn(partition, region, ctx.accountId, repo);
  const svc = pub ? 'ecr-public' : 'ecr';
  const user = `arn:${partition}:iam::${account}:user/${ctx.userName}`;
  const role = `arn:${partition}:iam::${account}:role/${PROBE_NAME}`;
  const object = `arn:${partition}:s3:::${PROBE_NAME}-bucket/object`;
  const secret = `arn:${partition}:secretsmanager:${region}:${account}:secret:${ctx.secretName ?? PROBE_NAME}-AbCdEf`;
  const key = `arn:${partition}:kms:${region}:${account}:key/${PROBE_KEY_ID}`;
  return [
    ...['PutImage', 'InitiateLayerUpload', 'BatchDeleteImage', 'SetRepositoryPolicy', 'DeleteRepository'].map(
      (a) => ({
        action: `${svc}:${a}`,
        resource: repoArn,
      }),
    ),
    { action: 'iam:CreateAccessKey', resource: user },
    { action: 'iam:UpdateAccessKey', resource: user },
    { action: 'iam:AttachUserPolicy', resource: user },
    { action: 'iam:PutUserPolicy', resource: user },
    { action: 'iam:PassRole', resource: role },
    { action: 'sts:AssumeRole', resource: role },
    { action: 's3:GetObject', resource: object },
    { action: 's3:PutObject', resource: object },
    { action: 's3:ListAllMyBuckets', resource: '*' },
    { action: 'secretsmanager:GetSecretValue', resource: secret },
    { action: 'kms:Decrypt', resource: key },
    {
      action: 'lambda:InvokeFunction',
      resource: `arn:${partition}:lambda:${region}:${account}:function:${PROBE_NAME}`,
    },
    {
      action: 'ec2:RunInstances',
      resource: `arn:${partition}:ec2:${region}:${account}:instance/i-0123456789abcdef0`,
    },
  ];
}

/**
 * The repository pull actions on repositories NVCF must not reach: a repository of the same registry that
 * is not configured, a configured name in another region of the partition (private registries), and a
 * configured name in another account (judged, as every probe, on the user's identity policies alone).
 */
export function outOfScopeProbes(ctx: ProbeContext): Probe[] {
  const pub = ctx.kind === 'public';
  const partition = pub ? 'aws' : ctx.partition;
  const actions: readonly string[] = pub ? PUBLIC_PULL_ACTIONS : PRIVATE_PULL_ACTIONS;
  const account = ctx.accountId;
  const repo = [...ctx.repositories].sort()[0] ?? PROBE_NAME;
  let unconfigured = `${PROBE_NAME}/not-configured`;
  while (ctx.repositories.includes(unconfigured)) unconfigured += '-x';
  const otherAccount =
    ['210987654321', '123456789012', '111122223333'].find(
      (a) => a !== account && a !== ctx.principalAccount,
    ) ?? '';
  const arn = (acct: string, region: string, name: string) =>
    pub ? publicRepositoryArn(acct, name) : repositoryArn(partition, region, acct, name);
  const otherRegion = pub ? undefined : partitionOfRegion(ctx.region)?.regions.find((r) => r !== ctx.region);
  const probes: Probe[] = [];
  for (const action of actions) {
    probes.push({ action, resource: arn(account, ctx.region, unconfigured) });
    if (otherRegion) probes.push({ action, resource: arn(account, otherRegion, repo) });
    probes.push({ action, resource: arn(otherAccount, ctx.region, repo) });
  }
  // Probes never coincide with a configured repository ARN (they would be required, not out of scope).
  const configured = new Set(pullRepositoryArns(ctx));
  return probes.filter((p) => !configured.has(p.resource));
}
