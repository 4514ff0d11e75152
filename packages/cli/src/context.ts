import { existsSync } from 'node:fs';
import type { ParseArgsOptionsConfig } from 'node:util';
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { STSClient } from '@aws-sdk/client-sts';
import { type Config, ConfigError, loadConfig } from '@nvcf-ecr/core/config';
import { iamRegionFor } from '@nvcf-ecr/core/ecr';
import { NvcfClient } from '@nvcf-ecr/nvcf';
import type { OptionValues } from './cli.ts';
import { CliError } from './errors.ts';

/**
 * What commands that talk to AWS and NVCF share: the `--config`, `--endpoint`, `--nvcf-endpoint` and
 * `--region` options, loading the configuration, SDK client settings (credentials from the standard AWS chain:
 * environment, shared files, SSO, instance roles), and the NVCF client with its key read from Secrets Manager
 * as the Lambdas read it. Precedence everywhere: flag → environment → configuration → default.
 */

export const DEFAULT_CONFIG_FILE = 'nvcf-ecr.config.ts';

export const CONFIG_OPTIONS: ParseArgsOptionsConfig = {
  config: { type: 'string' },
};

export const AWS_OPTIONS: ParseArgsOptionsConfig = {
  endpoint: { type: 'string' },
  'nvcf-endpoint': { type: 'string' },
  region: { type: 'string' },
};

/** Help lines for {@link CONFIG_OPTIONS} and {@link AWS_OPTIONS}, for command help texts. */
export const COMMON_OPTIONS_HELP = `  --config <file>         configuration file (.ts, .mjs or .json; default ./${DEFAULT_CONFIG_FILE})
  --endpoint <url>        AWS endpoint override (e.g. the sandbox's awsEndpoint); credentials come from the
                          standard AWS chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, SSO, ...)
  --nvcf-endpoint <url>   NVCF API base URL (default: ngc.baseUrl of the configuration)
  --region <region>       AWS region of the deployment: its secrets and event bus (default: AWS_REGION,
                          AWS_DEFAULT_REGION, the AWS profile's region, else the first private registry's,
                          where the stacks deploy)`;

function stringOption(values: OptionValues, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

/**
 * Loads `--config` (or the default file). `required: false` returns undefined when no file was named and the
 * default file does not exist; a named file that is missing or invalid is always an error listing every problem.
 */
export async function loadCommandConfig(
  values: OptionValues,
  options: { required: boolean },
): Promise<Config | undefined> {
  const named = stringOption(values, 'config');
  const path = named ?? DEFAULT_CONFIG_FILE;
  if (named === undefined && !existsSync(path)) {
    if (!options.required) return undefined;
    throw new CliError(
      `no configuration: ${DEFAULT_CONFIG_FILE} does not exist here; pass --config FILE or write one with 'nvcf-ecr init'`,
      2,
    );
  }
  try {
    return await loadConfig(path);
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message, 2, { cause: err });
    throw err;
  }
}

/**
 * Settings for an AWS SDK client: region, endpoint override, one retry policy for the CLI. The region is
 * `--region`, else `AWS_REGION`/`AWS_DEFAULT_REGION`, else the region of the AWS profile as the SDK reads it
 * (`AWS_PROFILE`, `~/.aws/config`), else `defaultRegion` — the deployment region (core `deploymentRegion`) for
 * the secrets and the bus. It is only given to the SDK as a fixed value when a flag or the environment names
 * it; otherwise a provider asks the SDK's own chain first, once.
 */
export function awsClientOptions(
  values: OptionValues,
  env: Readonly<Record<string, string | undefined>>,
  defaultRegion: string,
) {
  const endpoint = stringOption(values, 'endpoint');
  const named = stringOption(values, 'region') ?? env['AWS_REGION'] ?? env['AWS_DEFAULT_REGION'];
  let resolved: Promise<string> | undefined;
  const region: string | (() => Promise<string>) =
    named ??
    (() => {
      resolved ??= profileRegion().then((r) => r ?? defaultRegion);
      return resolved;
    });
  return { region, ...(endpoint ? { endpoint } : {}), maxAttempts: 3 };
}

/**
 * Settings for an IAM client. IAM is global: in AWS the SDK picks the global endpoint and the region it signs for
 * by itself, but with `--endpoint` (the sandbox) it signs for the client's own region, which must then be the
 * partition's IAM region (us-east-1 for commercial AWS).
 */
export function iamClientOptions(options: ReturnType<typeof awsClientOptions>) {
  if (!('endpoint' in options)) return options;
  const { region } = options;
  return {
    ...options,
    region: typeof region === 'string' ? iamRegionFor(region) : async () => iamRegionFor(await region()),
  };
}

/**
 * The region the SDK's default chain finds (the environment, then the profile's `region` in the shared config
 * file), or undefined when it finds none. Read through a client the SDK configures itself — the chain's own
 * code, files and precedence — and never used for a call.
 */
async function profileRegion(): Promise<string | undefined> {
  const probe = new STSClient({});
  try {
    return await probe.config.region();
  } catch {
    return undefined;
  } finally {
    probe.destroy();
  }
}

/**
 * The NVCF client for a command: base URL from `--nvcf-endpoint`, else `NVCF_ECR_NVCF_ENDPOINT`, else the
 * configuration; the API key read from the Secrets Manager secret the configuration names (the same secret
 * the Lambdas read), once, and re-read once after a 401.
 */
export function nvcfClientFor(
  values: OptionValues,
  env: Readonly<Record<string, string | undefined>>,
  config: Config,
  secrets: SecretsManagerClient,
): NvcfClient {
  const baseUrl =
    stringOption(values, 'nvcf-endpoint') ?? env['NVCF_ECR_NVCF_ENDPOINT'] ?? config.ngc.baseUrl;
  return new NvcfClient({
    baseUrl,
    ...(config.ngc.org ? { org: config.ngc.org } : {}),
    ...(config.ngc.team ? { team: config.ngc.team } : {}),
    apiKey: async () => {
      const out = await secrets.send(new GetSecretValueCommand({ SecretId: config.ngc.apiKeySecretName }));
      const key = out.SecretString?.trim();
      if (!key) {
        throw new CliError(
          `the NGC API key secret ${config.ngc.apiKeySecretName} is empty: store the key with 'aws secretsmanager put-secret-value --secret-id ${config.ngc.apiKeySecretName} --secret-string <key>'`,
          2,
        );
      }
      return key;
    },
  });
}
