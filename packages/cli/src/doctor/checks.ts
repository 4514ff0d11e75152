import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  ResourceNotFoundException,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { GetCallerIdentityCommandOutput, STSClient } from '@aws-sdk/client-sts';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import type { Config, RegistryConfig } from '@nvcf-ecr/core/config';
import {
  type NvcfClient,
  NvcfForbiddenError,
  NvcfNetworkError,
  NvcfTimeoutError,
  NvcfUnauthorizedError,
  type RegistryCredential,
} from '@nvcf-ecr/nvcf';

/**
 * `nvcf-ecr doctor`'s checks: can this machine's credentials reach what the system needs, and is what the
 * deployment should have created there? Each check reads one thing and says, when it fails, what is wrong and
 * the command that fixes it. A check whose prerequisite failed is skipped (and says which). Nothing is written,
 * and no secret is ever shown: the NGC key is only tested for presence and used.
 */

export type CheckStatus = 'ok' | 'fail' | 'skip';

export interface DoctorCheck {
  /** Stable id: `config`, `aws-credentials`, `ngc-key`, `nvcf`, `registry.<name>.secret`, ... */
  id: string;
  status: CheckStatus;
  message: string;
  /** How to fix a failure. */
  fix?: string | undefined;
}

export interface DoctorDeps {
  sts: Pick<STSClient, 'send'>;
  secrets: Pick<SecretsManagerClient, 'send'>;
  /** The NVCF client for an NGC key (the one in the secret). */
  nvcf: (apiKey: string) => Pick<NvcfClient, 'listRegistryCredentials'>;
  /** NVCF's base URL, for messages. */
  nvcfBaseUrl: string;
}

/** Runs every check after the configuration loaded. */
export async function diagnose(config: Config, deps: DoctorDeps): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [];
  const identity = await checkAwsCredentials(config, deps, checks);
  const apiKey = identity ? await checkNgcKey(config, deps, checks) : undefined;
  if (!identity) checks.push(skipped('ngc-key', 'aws-credentials'));
  const credentials = apiKey === undefined ? undefined : await checkNvcf(deps, apiKey, checks);
  if (apiKey === undefined) checks.push(skipped('nvcf', identity ? 'ngc-key' : 'aws-credentials'));
  for (const registry of config.registries) {
    const base = `registry.${registry.name}`;
    if (identity) await checkSecret(registry, deps, checks);
    else
      checks.push(
        skipped(`${base}.secret`, 'aws-credentials'),
        skipped(`${base}.rotation`, 'aws-credentials'),
      );
    if (credentials) checks.push(checkCredential(registry, credentials));
    else checks.push(skipped(`${base}.nvcf-credential`, 'nvcf'));
  }
  return checks;
}

function skipped(id: string, after: string): DoctorCheck {
  return { id, status: 'skip', message: `not checked: it needs ${after}, which failed` };
}

async function checkAwsCredentials(
  config: Config,
  deps: DoctorDeps,
  checks: DoctorCheck[],
): Promise<GetCallerIdentityCommandOutput | undefined> {
  try {
    const identity = await deps.sts.send(new GetCallerIdentityCommand({}));
    const accounts = [
      ...new Set(config.registries.filter((r) => r.kind === 'private').map((r) => r.accountId)),
    ];
    const elsewhere = accounts.filter((a) => a !== identity.Account);
    checks.push({
      id: 'aws-credentials',
      status: 'ok',
      message:
        `${identity.Arn} (account ${identity.Account})` +
        (elsewhere.length > 0
          ? `; registries in account ${elsewhere.join(', ')} need the cross-account setup (stacks/README.md)`
          : ''),
    });
    return identity;
  } catch (err) {
    checks.push({
      id: 'aws-credentials',
      status: 'fail',
      message: `AWS did not accept this machine's credentials: ${describe(err)}`,
      fix: "set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or run 'aws sso login'; check with 'aws sts get-caller-identity'",
    });
    return undefined;
  }
}

async function checkNgcKey(
  config: Config,
  deps: DoctorDeps,
  checks: DoctorCheck[],
): Promise<string | undefined> {
  const name = config.ngc.apiKeySecretName;
  const put = `read -rs K && printf %s "$K" | aws secretsmanager put-secret-value --secret-id ${name} --secret-string file:///dev/stdin`;
  try {
    const out = await deps.secrets.send(new GetSecretValueCommand({ SecretId: name }));
    const key = out.SecretString?.trim();
    if (!key) {
      checks.push({
        id: 'ngc-key',
        status: 'fail',
        message: `secret ${name} holds no NGC API key`,
        fix: put,
      });
      return undefined;
    }
    checks.push({ id: 'ngc-key', status: 'ok', message: `secret ${name} holds an NGC API key` });
    return key;
  } catch (err) {
    const missing = err instanceof ResourceNotFoundException;
    checks.push({
      id: 'ngc-key',
      status: 'fail',
      message: missing
        ? `secret ${name} does not exist`
        : `secret ${name} could not be read: ${describe(err)}`,
      fix: missing
        ? `deploy the stacks (they create it empty), then store the key: ${put}`
        : 'use credentials allowed secretsmanager:GetSecretValue on it (and kms:Decrypt on its key)',
    });
    return undefined;
  }
}

async function checkNvcf(
  deps: DoctorDeps,
  apiKey: string,
  checks: DoctorCheck[],
): Promise<RegistryCredential[] | undefined> {
  try {
    const credentials = await deps.nvcf(apiKey).listRegistryCredentials();
    checks.push({
      id: 'nvcf',
      status: 'ok',
      message: `NVCF at ${deps.nvcfBaseUrl} accepts the NGC key (${credentials.length} registry credentials)`,
    });
    return credentials;
  } catch (err) {
    checks.push({ id: 'nvcf', status: 'fail', ...nvcfProblem(err, deps.nvcfBaseUrl) });
    return undefined;
  }
}

function nvcfProblem(err: unknown, baseUrl: string): { message: string; fix: string } {
  if (err instanceof NvcfUnauthorizedError) {
    return {
      message: 'NVCF rejected the NGC API key (401): it is invalid, expired or revoked',
      fix: 'generate a key in NGC (Setup > API Keys) with the Cloud Functions service and put it in the secret',
    };
  }
  if (err instanceof NvcfForbiddenError) {
    return {
      message: 'NVCF refused the NGC API key (403): it lacks the scope to manage registry credentials',
      fix: 'give the key the Cloud Functions service (a service key also needs "All Entity"), then put it in the secret',
    };
  }
  if (err instanceof NvcfNetworkError || err instanceof NvcfTimeoutError) {
    return {
      message: `NVCF at ${baseUrl} is unreachable: ${describe(err)}`,
      fix: 'check the network and proxy, and ngc.baseUrl in the configuration (or --nvcf-endpoint)',
    };
  }
  return {
    message: `NVCF could not list registry credentials: ${describe(err)}`,
    fix: 'retry; if it persists, check NVCF status',
  };
}

async function checkSecret(registry: RegistryConfig, deps: DoctorDeps, checks: DoctorCheck[]): Promise<void> {
  const base = `registry.${registry.name}`;
  const name = registry.secretName;
  try {
    const d = await deps.secrets.send(new DescribeSecretCommand({ SecretId: name }));
    checks.push({ id: `${base}.secret`, status: 'ok', message: `secret ${name} exists` });
    const enabled = d.RotationEnabled === true && d.RotationLambdaARN !== undefined;
    checks.push(
      enabled && d.LastRotatedDate === undefined
        ? {
            // A deploy never rotates (the schedule only has Secrets Manager test the function): the first
            // rotation is the operator's, once NVCF can be reached with the NGC key.
            id: `${base}.rotation`,
            status: 'fail',
            message: `rotation on (${registry.rotation.schedule}), but no rotation has happened yet: the secret holds no key and NVCF none`,
            fix: `store the NGC key, then nvcf-ecr rotate ${registry.name} (stacks/README.md, "Store the NGC API key, then run the first rotation")`,
          }
        : enabled
          ? {
              id: `${base}.rotation`,
              status: 'ok',
              message: `rotation on (${registry.rotation.schedule}), last rotated ${d.LastRotatedDate?.toISOString() ?? 'never'}`,
            }
          : {
              id: `${base}.rotation`,
              status: 'fail',
              message: `rotation of ${name} is off`,
              fix: `deploy the stacks (the Credentials stack turns it on), or 'aws secretsmanager rotate-secret --secret-id ${name} --rotation-lambda-arn <the rotation function's ARN>'`,
            },
    );
  } catch (err) {
    const missing = err instanceof ResourceNotFoundException;
    checks.push({
      id: `${base}.secret`,
      status: 'fail',
      message: missing
        ? `secret ${name} does not exist`
        : `secret ${name} could not be read: ${describe(err)}`,
      fix: missing
        ? 'deploy the stacks: the Credentials stack creates it'
        : 'use credentials allowed secretsmanager:DescribeSecret on it',
    });
    checks.push(skipped(`${base}.rotation`, `${base}.secret`));
  }
}

function checkCredential(registry: RegistryConfig, credentials: readonly RegistryCredential[]): DoctorCheck {
  const id = `registry.${registry.name}.nvcf-credential`;
  const found = credentials.find(
    (c) => c.registryHostname === registry.hostname && c.registryCredentialName === registry.credentialName,
  );
  if (found) {
    return {
      id,
      status: 'ok',
      message: `NVCF credential '${registry.credentialName}' (${found.registryCredentialId}) for ${registry.hostname}, updated ${found.lastUpdatedAt}`,
    };
  }
  return {
    id,
    status: 'fail',
    message: `NVCF has no credential '${registry.credentialName}' for ${registry.hostname}`,
    fix: `the first rotation creates it: 'nvcf-ecr rotate ${registry.name}' once the NGC key is stored`,
  };
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
