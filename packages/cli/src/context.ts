import { existsSync } from 'node:fs';
import type { ParseArgsOptionsConfig } from 'node:util';
import { IAMClient } from '@aws-sdk/client-iam';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { STSClient } from '@aws-sdk/client-sts';
import {
  type Config,
  ConfigError,
  deploymentRegion,
  forDeployment,
  loadConfig,
  type RegistryConfig,
} from '@nvcf-ecr/core/config';
import { iamRegionFor } from '@nvcf-ecr/core/ecr';
import { CoreError } from '@nvcf-ecr/core/errors';
import type { NvcfClient } from '@nvcf-ecr/nvcf';
import { nvcfClientFor } from '../../../functions/lib/nvcf.ts';
import type { CommandContext, OptionValues } from './cli.ts';
import { CliError, UsageError } from './errors.ts';
import type { CliIo } from './output.ts';

/**
 * What commands that talk to AWS and NVCF share: the `--config`, `--endpoint`, `--nvcf-endpoint` and
 * `--region` options, loading the configuration, SDK client settings (credentials from the standard AWS chain:
 * environment, shared files, SSO, instance roles), and the NVCF client with its key read from Secrets Manager
 * as the Lambdas read it; picking a registry by name, the command's clock, the clients of the rotation commands and
 * turning what AWS or NVCF answered into a CLI error. Precedence everywhere: flag → environment → configuration →
 * default.
 */

export const DEFAULT_CONFIG_FILE = 'nvcf-ecr.config.ts';

export const CONFIG_OPTIONS: ParseArgsOptionsConfig = {
  config: { type: 'string' },
};

/** The options of every command that talks to AWS and NVCF: its configuration, and where and how to reach them. */
export const AWS_OPTIONS: ParseArgsOptionsConfig = {
  ...CONFIG_OPTIONS,
  endpoint: { type: 'string' },
  'nvcf-endpoint': { type: 'string' },
  region: { type: 'string' },
  stage: { type: 'string' },
};

/** Help lines for {@link CONFIG_OPTIONS} and {@link AWS_OPTIONS}, for command help texts. */
export const COMMON_OPTIONS_HELP = `  --config <file>         configuration file (.ts, .mjs or .json; default ./${DEFAULT_CONFIG_FILE})
  --endpoint <url>        AWS endpoint override (e.g. the sandbox's awsEndpoint); credentials come from the
                          standard AWS chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, SSO, ...)
  --nvcf-endpoint <url>   NVCF API base URL (default: ngc.baseUrl of the configuration)
  --region <region>       AWS region of the deployment: its secrets and event bus (default: AWS_REGION,
                          AWS_DEFAULT_REGION, the AWS profile's region, else the first private registry's,
                          where the stacks deploy)
  --stage <stage>         the SST stage deployed (npx sst deploy --stage): the default names of the pull users
                          and secrets carry it, and the region (default: NVCF_ECR_STAGE; none: the names
                          without a stage, as the sandbox uses them)`;

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
  options: { required: boolean; env?: Readonly<Record<string, string | undefined>> },
): Promise<Config | undefined> {
  const config = await loadNamedConfig(values, options);
  if (!config) return undefined;
  const env = options.env ?? {};
  const stage = stringOption(values, 'stage') ?? env['NVCF_ECR_STAGE'];
  if (stage === undefined) return config;
  if (!/^[A-Za-z][A-Za-z0-9-]*$/.test(stage))
    throw new CliError(
      `--stage '${stage}' must start with a letter and contain only letters, digits and '-'`,
      2,
    );
  // The deployment's names (core forDeployment): the region is the one the stacks were deployed to, which
  // --region or the environment name, else the configuration implies.
  const region =
    stringOption(values, 'region') ??
    env['AWS_REGION'] ??
    env['AWS_DEFAULT_REGION'] ??
    deploymentRegion(config);
  try {
    return forDeployment(config, { stage, region });
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message, 2, { cause: err });
    throw err;
  }
}

async function loadNamedConfig(
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
 * configuration; built as the handlers build theirs, the API key read from the same Secrets Manager secret.
 */
export function nvcfClientForCommand(
  values: OptionValues,
  env: Readonly<Record<string, string | undefined>>,
  config: Config,
  secrets: SecretsManagerClient,
): NvcfClient {
  const nvcfBaseUrl =
    stringOption(values, 'nvcf-endpoint') ?? env['NVCF_ECR_NVCF_ENDPOINT'] ?? config.ngc.baseUrl;
  return nvcfClientFor({ config, nvcfBaseUrl }, secrets);
}

/** The environment variable that sets the CLI's clock (see {@link commandNow}). */
export const NOW_ENV = 'NVCF_ECR_NOW';

export const NOW_HELP = `Environment:
  ${NOW_ENV}=<ISO time>  the time grace periods and key ages are judged at (default: this
                           machine's clock); for a sandbox whose virtual clock was advanced, set it
                           to the "now" of GET /_sandbox/clock`;

/** The configured registry named `name`, or a usage error listing the names. */
export function registryByName(config: Config, name: string, command: string): RegistryConfig {
  const registry = config.registries.find((r) => r.name === name);
  if (!registry) {
    throw new UsageError(
      `no registry named '${name}' in the configuration: the registries are ${config.registries.map((r) => r.name).join(', ')}`,
      command,
    );
  }
  return registry;
}

/**
 * The CLI's clock: this machine's, or the fixed time in `NVCF_ECR_NOW`. The rotation and retirement decide
 * against the clock of the system they run in; a sandbox's clock is virtual (tests and demos move it
 * forward), so a command run against one needs the sandbox's time, not the machine's.
 */
export function commandNow(env: CliIo['env'], command: string): () => Date {
  const raw = env[NOW_ENV];
  if (raw === undefined || raw === '') return () => new Date();
  const at = new Date(raw);
  if (Number.isNaN(at.getTime()))
    throw new UsageError(
      `${NOW_ENV} must be an ISO-8601 time, e.g. 2026-01-31T12:00:00Z, got '${raw}'`,
      command,
    );
  return () => at;
}

/**
 * Runs a command body, turning what AWS, NVCF or the credential chain answered into a CLI error (exit 2)
 * that says what failed, instead of an "internal error": these are the operator's to fix, not bugs.
 */
export async function reportingServiceErrors<T>(what: string, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    if (!(err instanceof Error) || err instanceof CliError || err instanceof CoreError) throw err;
    const e = err as Error & { $metadata?: unknown };
    const serviceError = e.$metadata !== undefined || e.name.startsWith('Nvcf');
    if (e.name === 'CredentialsProviderError') {
      throw new CliError(
        `${what} failed: no AWS credentials found (set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE, or log in with SSO)`,
        2,
        { cause: err },
      );
    }
    if (serviceError) throw new CliError(`${what} failed: ${e.name}: ${e.message}`, 2, { cause: err });
    throw err;
  }
}

/**
 * Clients for the rotation commands: Secrets Manager and IAM with the standard chain, NVCF with the NGC key.
 * Secrets Manager in the deployment region, where the stacks put every registry's secret and the NGC key
 * secret — not the registry's own region, which may differ.
 */
export function rotationClients(
  values: OptionValues,
  io: CliIo,
  config: Config,
): { secrets: SecretsManagerClient; iam: IAMClient; nvcf: NvcfClient } {
  const options = awsClientOptions(values, io.env, deploymentRegion(config));
  const secrets = new SecretsManagerClient(options);
  return {
    secrets,
    iam: new IAMClient(iamClientOptions(options)),
    nvcf: nvcfClientForCommand(values, io.env, config, secrets),
  };
}

/** The configuration, registries, clients and clock `retire`, `rotate` and `status` work with. */
export interface RotationCommandSetup {
  config: Config;
  /** The registry the first positional names, or every configured one when there is none. */
  registries: readonly RegistryConfig[];
  secrets: SecretsManagerClient;
  iam: IAMClient;
  nvcf: NvcfClient;
  now: () => Date;
}

/**
 * What the rotation commands start from, read in this order (the first problem is the one reported): the
 * configuration, the registry named, the clients, the clock.
 */
export async function rotationCommandSetup(
  { positionals, values, io }: CommandContext,
  command: string,
): Promise<RotationCommandSetup> {
  const config = (await loadCommandConfig(values, { required: true, env: io.env })) as Config;
  const name = positionals[0];
  const registries = name === undefined ? config.registries : [registryByName(config, name, command)];
  const clients = rotationClients(values, io, config);
  return { config, registries, ...clients, now: commandNow(io.env, command) };
}
