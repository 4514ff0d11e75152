import { AUDIT_REPORT_PREFIX, RESOLUTION_CACHE_PREFIX } from '@nvcf-ecr/core/audit';
import type { FunctionKey } from '@nvcf-ecr/core/events';

/**
 * What every function may do, in one place. Each function's role is built from exactly these statements
 * (plus writing its own log group, {@link logStatements}); nothing else grants it anything: no managed
 * policies, no CDK `grant*()` helpers. The stack tests simulate each role against what its handler needs and
 * against a list of dangerous actions and foreign resources.
 *
 * Handler authors: when your handler calls a new AWS action, add it here, on the narrowest resources the
 * function's stack passes in, and add the call to the "needs" table of `test/stacks/permissions.test.ts`.
 *
 * Resources are CloudFormation values (tokens are fine). Secrets Manager encrypts with the customer-managed
 * key on the caller's behalf, so every KMS statement is limited to calls made through Secrets Manager in the
 * deployment's region (`kms:ViaService`): the key cannot be used directly with these roles.
 */

export interface PermissionStatement {
  /** Statement id: `[A-Za-z0-9]`, unique within the role. */
  readonly sid: string;
  readonly actions: readonly string[];
  readonly resources: readonly string[];
  readonly conditions?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /**
   * Why a resource of this statement ends in a wildcard. Required for every such statement: the function
   * factory refuses to synthesise one without it, and records it as the cdk-nag IAM5 suppression of exactly
   * those resources.
   */
  readonly wildcardReason?: string;
}

/** What the Credentials stack knows: its users, secrets and key, and the project bus. */
export interface CredentialResources {
  readonly region: string;
  /** ARNs of the rotated secrets, one per registry. */
  readonly registrySecretArns: readonly string[];
  readonly ngcSecretArn: string;
  /** The customer-managed key that encrypts the registry secrets and the NGC secret. */
  readonly secretsKeyArn: string;
  /** ARNs of the pull users, one per registry. */
  readonly pullUserArns: readonly string[];
  readonly eventBusArn: string;
}

export interface ValidationResources {
  /** ARNs of the configured private repositories (every registry, every region). */
  readonly privateRepositoryArns: readonly string[];
  readonly eventBusArn: string;
  /** Where Lambda sends events the function failed on (its asynchronous on-failure destination). */
  readonly failureQueueArn: string;
  /**
   * The NGC API key's secret, by name ({@link secretArnPattern}): the Validation stack is deployed before
   * Credentials, which creates it, so it imports nothing from there.
   */
  readonly ngcSecretArn: string;
  readonly region: string;
  readonly partition: string;
  readonly account: string;
  /** `alias/<stage>-nvcf-ecr-secrets`: the key that encrypts the NGC secret, reached by its alias. */
  readonly secretsKeyAlias: string;
}

/**
 * What the audit reads, named without importing a value from the Credentials stack: a cross-stack export that
 * changes with the configuration (a registry removed or renamed, a user or secret renamed) cannot be updated
 * while it is imported ("Export … cannot be deleted as it is in use"), so the Audit stack builds the users' and
 * secrets' ARNs from their names, and reaches the secrets key by its alias.
 */
export interface AuditResources extends Omit<CredentialResources, 'secretsKeyArn'> {
  /** `alias/<stage>-nvcf-ecr-secrets`: the secrets key's alias ({@link SECRETS_KEY_ALIAS}). */
  readonly secretsKeyAlias: string;
  readonly partition: string;
  readonly account: string;
  readonly privateRepositoryArns: readonly string[];
  readonly publicRepositoryArns: readonly string[];
  readonly reportBucketArn: string;
}

/** The secrets key's alias name before the stage prefix (`alias/<stage>-nvcf-ecr-secrets`). */
export const SECRETS_KEY_ALIAS = 'nvcf-ecr-secrets';

/**
 * ARN patterns of secrets by name: Secrets Manager appends `-` and six random characters to a secret's name in
 * its ARN (Secrets Manager User Guide, "Secret ARN": https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_iam-permissions.html#iam-resources),
 * so `-??????` matches the secret of that name and no other (a longer name has more characters).
 */
export function secretArnPattern(partition: string, region: string, account: string, name: string): string {
  return `arn:${partition}:secretsmanager:${region}:${account}:secret:${name}-??????`;
}

/** Every tag the rotation writes on a secret starts with this (core `ROTATION_TAGS`). */
export const ROTATION_TAG_PREFIX = 'nvcf-ecr:';

const viaSecretsManager = (region: string) => ({
  StringEquals: { 'kms:ViaService': `secretsmanager.${region}.amazonaws.com` },
});

/**
 * Decrypting the secrets key through Secrets Manager, the key named by its alias: the Audit and Validation
 * stacks import nothing from the Credentials stack (which Validation precedes).
 */
function decryptByAlias(r: {
  partition: string;
  region: string;
  account: string;
  secretsKeyAlias: string;
}): PermissionStatement {
  return {
    sid: 'DecryptSecretsViaSecretsManager',
    actions: ['kms:Decrypt'],
    resources: [`arn:${r.partition}:kms:${r.region}:${r.account}:key/*`],
    conditions: {
      ...viaSecretsManager(r.region),
      // The key that has this alias (AWS KMS Developer Guide, "kms:ResourceAliases").
      'ForAnyValue:StringEquals': { 'kms:ResourceAliases': r.secretsKeyAlias },
    },
    wildcardReason:
      'The secrets key is named by its alias (kms:ResourceAliases), not its id: the Audit and Validation stacks import ' +
      'nothing from the Credentials stack. Decrypt only, only through Secrets Manager in this region.',
  };
}

function putProjectEvents(eventBusArn: string): PermissionStatement {
  // The project bus only: never the default bus, where this project's events could trigger other teams' rules.
  return { sid: 'PutProjectEvents', actions: ['events:PutEvents'], resources: [eventBusArn] };
}

/**
 * The permissions of each function. Sources: the rotation execution role
 * (https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotating-secrets-required-permissions-function.html),
 * the handlers under `functions/` and the core verbs they call.
 */
export const PERMISSIONS = {
  /**
   * The rotation: reads and stages the registry secrets, mints and retires the pull users' keys, reads the
   * NGC API key to update NVCF, reports on the bus. It proves a new key with that key's own credentials, so
   * it needs nothing on ECR or STS.
   */
  rotateCredential: (r: CredentialResources): PermissionStatement[] => [
    {
      sid: 'RotateRegistrySecrets',
      actions: [
        'secretsmanager:DescribeSecret',
        'secretsmanager:GetSecretValue',
        'secretsmanager:ListSecretVersionIds',
        'secretsmanager:PutSecretValue',
        'secretsmanager:UpdateSecretVersionStage',
      ],
      resources: r.registrySecretArns,
    },
    {
      // The rotation records its progress in the secret's tags (the intent marker written before
      // CreateAccessKey, the last failure, the spent force flag: core `ROTATION_TAGS`), and only those tags.
      sid: 'MarkRotationProgress',
      actions: ['secretsmanager:TagResource', 'secretsmanager:UntagResource'],
      resources: r.registrySecretArns,
      conditions: { 'ForAllValues:StringLike': { 'aws:TagKeys': [`${ROTATION_TAG_PREFIX}*`] } },
    },
    { sid: 'ReadNgcApiKey', actions: ['secretsmanager:GetSecretValue'], resources: [r.ngcSecretArn] },
    {
      sid: 'UseSecretsKeyViaSecretsManager',
      actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
      resources: [r.secretsKeyArn],
      conditions: viaSecretsManager(r.region),
    },
    {
      sid: 'ManagePullUserKeys',
      actions: [
        'iam:ListAccessKeys',
        'iam:CreateAccessKey',
        'iam:DeleteAccessKey',
        'iam:GetAccessKeyLastUsed',
      ],
      // No iam:UpdateAccessKey: the rotation never deactivates a key (the retirement does).
      resources: r.pullUserArns,
    },
    putProjectEvents(r.eventBusArn),
  ],

  /**
   * The hourly retirement: deactivates the previous key once its grace period is over, unless it is still
   * in use or NVCF still holds it. Reads the secrets to know which key is current; never writes them, never
   * creates or deletes keys.
   */
  retireKeys: (r: CredentialResources): PermissionStatement[] => [
    {
      sid: 'ReadRegistrySecrets',
      actions: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
      resources: r.registrySecretArns,
    },
    // Before deactivating, it checks that NVCF no longer holds the previous key.
    { sid: 'ReadNgcApiKey', actions: ['secretsmanager:GetSecretValue'], resources: [r.ngcSecretArn] },
    {
      sid: 'DecryptSecretsViaSecretsManager',
      actions: ['kms:Decrypt'],
      resources: [r.secretsKeyArn],
      conditions: viaSecretsManager(r.region),
    },
    {
      sid: 'RetirePullUserKeys',
      actions: ['iam:ListAccessKeys', 'iam:UpdateAccessKey', 'iam:GetAccessKeyLastUsed'],
      resources: r.pullUserArns,
    },
    putProjectEvents(r.eventBusArn),
  ],

  /**
   * Push validation: reads manifests (`BatchGetImage`) and config blobs (`GetDownloadUrlForLayer`, whose
   * presigned URL needs no permission) of the configured repositories, reads the NGC API key to list NVCF's
   * functions and deployments (function-aware validation), reports the verdict on the bus. Lambda sends events
   * it gave up on to the failure queue with this role (asynchronous on-failure destination).
   */
  validatePush: (r: ValidationResources): PermissionStatement[] => [
    {
      sid: 'ReadConfiguredImages',
      actions: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
      resources: r.privateRepositoryArns,
    },
    { sid: 'ReadNgcApiKey', actions: ['secretsmanager:GetSecretValue'], resources: [r.ngcSecretArn] },
    decryptByAlias(r),
    putProjectEvents(r.eventBusArn),
    { sid: 'SendFailedEvents', actions: ['sqs:SendMessage'], resources: [r.failureQueueArn] },
  ],

  /**
   * The compliance audit: read-only on everything it checks, write-only on its report prefix. The pull
   * users' effective policies include group and attached policies whose names the stacks cannot know, so
   * those reads name every group and policy of the account (and AWS-managed policies): read-only, and the
   * only way to prove what the pull user may do.
   */
  audit: (r: AuditResources): PermissionStatement[] => {
    const statements: PermissionStatement[] = [
      {
        sid: 'ReadPullUsers',
        actions: [
          'iam:ListAccessKeys',
          'iam:GetAccessKeyLastUsed',
          'iam:ListUserPolicies',
          'iam:GetUserPolicy',
          'iam:ListAttachedUserPolicies',
          'iam:ListGroupsForUser',
          'iam:GetUser',
        ],
        resources: r.pullUserArns,
      },
      {
        // AWS's own policy engine judges least privilege: the simulator evaluates the user's inline, attached
        // and group policies and its permissions boundary (API_SimulatePrincipalPolicy.html). No charge.
        sid: 'SimulatePullUserPolicies',
        actions: ['iam:SimulatePrincipalPolicy'],
        resources: r.pullUserArns,
      },
      {
        sid: 'ReadPullUserGroups',
        actions: ['iam:ListGroupPolicies', 'iam:GetGroupPolicy', 'iam:ListAttachedGroupPolicies'],
        resources: [`arn:${r.partition}:iam::${r.account}:group/*`],
        wildcardReason:
          'The groups the pull users belong to are not created by these stacks (an operator may add one): the audit must ' +
          'read whichever it finds to compute the effective policy. Read-only.',
      },
      {
        sid: 'ReadAttachedPolicies',
        actions: ['iam:GetPolicy', 'iam:GetPolicyVersion'],
        resources: [`arn:${r.partition}:iam::${r.account}:policy/*`, `arn:${r.partition}:iam::aws:policy/*`],
        wildcardReason:
          'Managed policies attached to the pull users or their groups (customer or AWS managed) are not created by these ' +
          'stacks: the audit must read whichever is attached to prove what the user may do. Read-only.',
      },
      {
        sid: 'ReadRotationState',
        actions: [
          'secretsmanager:DescribeSecret',
          'secretsmanager:ListSecretVersionIds',
          'secretsmanager:GetSecretValue',
        ],
        resources: r.registrySecretArns,
      },
      { sid: 'ReadNgcApiKey', actions: ['secretsmanager:GetSecretValue'], resources: [r.ngcSecretArn] },
      decryptByAlias(r),
      {
        sid: 'WriteReports',
        actions: ['s3:PutObject'],
        resources: [`${r.reportBucketArn}/${AUDIT_REPORT_PREFIX}*`],
        wildcardReason:
          'Each audit run writes new report objects, named by run, under the reports/ prefix of its own bucket.',
      },
      {
        sid: 'ResolutionCache',
        actions: ['s3:GetObject', 's3:PutObject'],
        resources: [`${r.reportBucketArn}/${RESOLUTION_CACHE_PREFIX}*`],
        wildcardReason:
          'The audit keeps what it resolved per repository under the cache/ prefix of its own bucket, one object per configured repository, read and rewritten by each run.',
      },
      putProjectEvents(r.eventBusArn),
    ];
    if (r.privateRepositoryArns.length > 0) {
      statements.push({
        sid: 'ReadConfiguredRepositories',
        // DescribeImages lists tags and digests; the other two read manifests and config blobs for platforms.
        actions: ['ecr:DescribeImages', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
        resources: r.privateRepositoryArns,
      });
    }
    if (r.publicRepositoryArns.length > 0) {
      statements.push({
        sid: 'ReadConfiguredPublicRepositories',
        actions: ['ecr-public:DescribeImages'],
        resources: r.publicRepositoryArns,
      });
    }
    return statements;
  },
} satisfies Record<FunctionKey, (resources: never) => PermissionStatement[]>;

/**
 * What the Lambda runtime needs: writing the function's own log group (created by the stacks with its
 * retention, so the role needs no `logs:CreateLogGroup`).
 */
export function logStatements(logGroupArn: string): PermissionStatement[] {
  // The log group's ARN attribute already ends in ':*' (its streams), which Lambda names at run time.
  return [
    { sid: 'WriteOwnLogs', actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroupArn] },
  ];
}
