import {
  GetAccessKeyLastUsedCommand,
  GetUserCommand,
  ListAccessKeysCommand,
  NoSuchEntityException,
} from '@aws-sdk/client-iam';
import {
  DescribeSecretCommand,
  type DescribeSecretCommandOutput,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  ResourceNotFoundException,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { Config, RegistryConfig } from '../config/index.ts';
import { CoreError } from '../errors.ts';
import type { IamReader } from '../iam/effective.ts';
import type { Logger } from '../log.ts';
import type {
  NvcfAuditPort,
  NvcfDeploymentView,
  NvcfFunctionView,
  NvcfRegistryCredentialView,
} from '../ports/nvcf.ts';
import { redactString } from '../redact.ts';
import { recordedKey } from '../rotation/key-ids.ts';
import { once } from './pace.ts';

/**
 * The live state the checks judge, read once per audit and shared by every check that needs it: the pull user
 * and its keys (IAM), the rotated secret (Secrets Manager), the account's NVCF credentials, functions and
 * deployments. Every read is a live API call (never the credential report, regenerated at most every 4 hours:
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/iam_example_iam_GenerateCredentialReport_section.html);
 * lists follow their pagination to the end.
 */

export type { IamReader };
export type SecretsReader = Pick<SecretsManagerClient, 'send'>;

export interface UserFact {
  readonly name: string;
  /** The user's ARN (from IAM when it exists, else built from the registry's account). */
  readonly arn: string;
  readonly exists: boolean;
}

export interface AccessKeyFact {
  readonly id: string;
  /** `Active` or `Inactive` (IAM also documents `Expired`). */
  readonly status: string;
  readonly created: Date | undefined;
  readonly lastUsed: Date | undefined;
  /** Service of the last use; IAM answers `N/A` for a key never used. */
  readonly lastUsedService: string | undefined;
}

/**
 * What the audit knows of the key in one labelled version, without reading the value: the access key id the
 * rotation records per version in the secret's tags (`nvcf-ecr:version:<VersionId>`, core rotation `key-ids.ts`).
 * The audit's role may not `GetSecretValue` the pull-key secrets, so it holds no working ECR credential.
 */
export interface VersionKeyView {
  readonly versionId: string;
  /** The key id recorded for the version; undefined when it holds no key or none is recorded. */
  readonly accessKeyId?: string | undefined;
  /** No key id recorded: written before the rotation recorded key ids, or by hand. */
  readonly unrecorded?: boolean | undefined;
  /** When the version was stored (ListSecretVersionIds): right after the rotation created its key. */
  readonly created?: Date | undefined;
}

/** The stages whose version has no key id recorded: which key they hold cannot be told without the value. */
export function unrecordedStages(secret: SecretFact | undefined): string[] {
  const stages: [string, VersionKeyView | undefined][] = [
    ['AWSCURRENT', secret?.current],
    ['AWSPREVIOUS', secret?.previous],
    ['AWSPENDING', secret?.pending],
  ];
  return stages.filter(([, view]) => view?.unrecorded === true).map(([stage]) => stage);
}

export interface SecretVersionFact {
  readonly versionId: string;
  readonly stages: readonly string[];
  readonly created: Date | undefined;
}

export interface SecretFact {
  readonly arn: string;
  readonly name: string;
  readonly rotationEnabled: boolean;
  readonly rotationLambdaArn: string | undefined;
  readonly scheduleExpression: string | undefined;
  readonly automaticallyAfterDays: number | undefined;
  readonly window: string | undefined;
  readonly lastRotated: Date | undefined;
  readonly nextRotation: Date | undefined;
  readonly versions: readonly SecretVersionFact[];
  readonly current: VersionKeyView | undefined;
  readonly previous: VersionKeyView | undefined;
  /** The AWSPENDING version; `undefined` when there is none. */
  readonly pending: VersionKeyView | undefined;
}

/** How a failed read is described in an `error` finding: our own messages, or the AWS error's name and message. */
export function describeFailure(err: unknown): string {
  if (err instanceof CoreError) return redactString(err.message);
  if (err instanceof Error) {
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    const where = status === undefined ? '' : ` (HTTP ${status})`;
    return redactString(`${err.name}${where}: ${err.message}`);
  }
  return `unexpected failure (${typeof err})`;
}

/** Reads of one registry's pull user and rotated secret, each made once per audit. */
export interface RegistryFacts {
  readonly registry: RegistryConfig;
  user(): Promise<UserFact>;
  keys(): Promise<readonly AccessKeyFact[]>;
  /** `undefined` when the secret does not exist. */
  secret(): Promise<SecretFact | undefined>;
}

export function registryFacts(
  registry: RegistryConfig,
  iam: IamReader,
  secrets: SecretsReader,
): RegistryFacts {
  const user = once(async (): Promise<UserFact> => {
    try {
      const out = await iam.send(new GetUserCommand({ UserName: registry.userName }));
      return { name: registry.userName, arn: out.User?.Arn ?? builtUserArn(registry), exists: true };
    } catch (err) {
      if (err instanceof NoSuchEntityException)
        return { name: registry.userName, arn: builtUserArn(registry), exists: false };
      throw err;
    }
  });

  const keys = once(async (): Promise<AccessKeyFact[]> => {
    if (!(await user()).exists) return [];
    const metadata: {
      AccessKeyId?: string | undefined;
      Status?: string | undefined;
      CreateDate?: Date | undefined;
    }[] = [];
    let marker: string | undefined;
    do {
      const page = await iam.send(new ListAccessKeysCommand({ UserName: registry.userName, Marker: marker }));
      metadata.push(...(page.AccessKeyMetadata ?? []));
      marker = page.IsTruncated ? page.Marker : undefined;
    } while (marker);
    const out: AccessKeyFact[] = [];
    for (const k of metadata) {
      if (!k.AccessKeyId) continue;
      const used = await iam.send(new GetAccessKeyLastUsedCommand({ AccessKeyId: k.AccessKeyId }));
      const service = used.AccessKeyLastUsed?.ServiceName;
      out.push({
        id: k.AccessKeyId,
        status: k.Status ?? 'Unknown',
        created: k.CreateDate,
        lastUsed: used.AccessKeyLastUsed?.LastUsedDate,
        lastUsedService: service === 'N/A' ? undefined : service,
      });
    }
    return out.sort((a, b) => (a.created?.getTime() ?? 0) - (b.created?.getTime() ?? 0));
  });

  const secret = once(async (): Promise<SecretFact | undefined> => {
    let described: DescribeSecretCommandOutput;
    try {
      described = await secrets.send(new DescribeSecretCommand({ SecretId: registry.secretName }));
    } catch (err) {
      if (err instanceof ResourceNotFoundException) return undefined;
      throw err;
    }
    const versions: SecretVersionFact[] = [];
    let token: string | undefined;
    do {
      const page = await secrets.send(
        new ListSecretVersionIdsCommand({ SecretId: registry.secretName, NextToken: token, MaxResults: 100 }),
      );
      for (const v of page.Versions ?? []) {
        if (v.VersionId)
          versions.push({ versionId: v.VersionId, stages: v.VersionStages ?? [], created: v.CreatedDate });
      }
      token = page.NextToken;
    } while (token);
    // DescribeSecret's stage map is authoritative for labels (ListSecretVersionIds may omit deprecated versions).
    for (const [id, stages] of Object.entries(described.VersionIdsToStages ?? {})) {
      if (!versions.some((v) => v.versionId === id))
        versions.push({ versionId: id, stages, created: undefined });
    }
    const tags = new Map((described.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
    const stage = (label: string): VersionKeyView | undefined => {
      const version = versions.find((v) => v.stages.includes(label));
      if (!version) return undefined;
      const recorded = recordedKey(tags, version.versionId);
      return {
        versionId: version.versionId,
        created: version.created,
        ...(recorded.kind === 'key' ? { accessKeyId: recorded.accessKeyId } : {}),
        ...(recorded.kind === 'unrecorded' ? { unrecorded: true } : {}),
      };
    };
    return {
      arn: described.ARN ?? registry.secretName,
      name: described.Name ?? registry.secretName,
      rotationEnabled: described.RotationEnabled === true,
      rotationLambdaArn: described.RotationLambdaARN,
      scheduleExpression: described.RotationRules?.ScheduleExpression,
      automaticallyAfterDays: described.RotationRules?.AutomaticallyAfterDays,
      window: described.RotationRules?.Duration,
      lastRotated: described.LastRotatedDate,
      nextRotation: described.NextRotationDate,
      versions,
      current: stage('AWSCURRENT'),
      previous: stage('AWSPREVIOUS'),
      pending: stage('AWSPENDING'),
    };
  });

  return { registry, user, keys, secret };
}

function builtUserArn(registry: RegistryConfig): string {
  return `arn:${registry.partition}:iam::${registry.accountId}:user/${registry.userName}`;
}

/** The NGC API key's secret as the audit sees it: stored or not, never its value. */
export type NgcKeyState = 'stored' | 'empty' | 'missing';

/** Account-wide reads: NVCF's credentials, functions and deployments, and whether the NGC key is stored. */
export interface AccountFacts {
  credentials(): Promise<readonly NvcfRegistryCredentialView[]>;
  /**
   * Function versions the account owns (other accounts' functions have their images blanked:
   * `hideDetailsForPublicAndSharedFunctions` in NVIDIA/nvcf).
   */
  functions(): Promise<readonly NvcfFunctionView[]>;
  deployment(functionId: string, versionId: string): Promise<NvcfDeploymentView | undefined>;
  ngcKey(): Promise<NgcKeyState>;
}

export function accountFacts(
  config: Config,
  nvcf: NvcfAuditPort,
  secrets: SecretsReader,
  logger?: Logger,
): AccountFacts {
  const deployments = new Map<string, Promise<NvcfDeploymentView | undefined>>();
  return {
    credentials: once(() => nvcf.listRegistryCredentials()),
    functions: once(async () =>
      (await nvcf.listFunctions('private')).filter((f) => f.ownedByDifferentAccount !== true),
    ),
    deployment(functionId, versionId) {
      const key = `${functionId}/${versionId}`;
      let p = deployments.get(key);
      if (!p) {
        p = nvcf.getDeployment(functionId, versionId);
        deployments.set(key, p);
      }
      return p;
    },
    ngcKey: once(async (): Promise<NgcKeyState> => {
      try {
        const out = await secrets.send(new GetSecretValueCommand({ SecretId: config.ngc.apiKeySecretName }));
        // Only whether a key is there: the value is not kept, logged or compared.
        return out.SecretString?.trim() ? 'stored' : 'empty';
      } catch (err) {
        if (err instanceof ResourceNotFoundException) {
          logger?.warn('NGC API key secret not found', { secretName: config.ngc.apiKeySecretName });
          return 'missing';
        }
        throw err;
      }
    }),
  };
}
