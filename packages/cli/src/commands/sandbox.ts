import type { ProfileName, SandboxInfo, SandboxOptions } from '@nvcf-ecr/sandbox';
import type { Command, CommandContext } from '../cli.ts';
import { sandboxHandlers } from '../compose.ts';
import { CONFIG_OPTIONS, DEFAULT_CONFIG_FILE, loadCommandConfig } from '../context.ts';
import { CliError, UsageError } from '../errors.ts';
import { loadSandbox } from '../sandbox-module.ts';

/**
 * `nvcf-ecr sandbox`: the local AWS + NVCF emulator as a process. The first stdout line is one JSON object
 * (endpoints and the sandbox's own admin key — a key to a fake account, printed on purpose so scripts can use
 * it); logs follow on stderr until SIGINT or SIGTERM.
 */

/** The profile `nvcf-ecr sandbox` and the demo run on: AWS and NVCF as unforgiving as they are. */
export const DEFAULT_PROFILE: ProfileName = 'aws';

/** The sandbox's profiles (its `PROFILE_NAMES`; the sandbox package is loaded only when a command runs it). */
const PROFILE_NAMES: readonly ProfileName[] = ['aws', 'ideal'];

/** `--profile`, checked. */
export function profileOption(
  raw: unknown,
  command: string,
  fallback: ProfileName = DEFAULT_PROFILE,
): ProfileName {
  if (raw === undefined) return fallback;
  if (typeof raw !== 'string' || !PROFILE_NAMES.includes(raw as ProfileName)) {
    throw new UsageError(`--profile must be ${PROFILE_NAMES.join(' or ')}, got '${String(raw)}'`, command);
  }
  return raw as ProfileName;
}

const HELP = `Starts the local sandbox: ECR, ECR Public, IAM, STS, Secrets Manager, EventBridge and S3 emulators, the
NVCF API emulator, the control plane (/_sandbox/...), and, from the configuration, the local runtime that
provisions what the stacks deploy and runs the real handlers (rotation, retirement, push validation, audit).
Everything listens on 127.0.0.1 only.

The first line on stdout is one JSON object:
  {"awsEndpoint", "registryEndpoint", "nvcfEndpoint", "controlEndpoint", "region", "accountId",
   "accessKeyId", "secretAccessKey", "ngcApiKey"}
Logs follow on stderr until SIGINT or SIGTERM.

Options:
  --port <n>               first of four consecutive ports (AWS, registry, NVCF, control); default: free ports
  --config <file>          configuration to provision from (default ./${DEFAULT_CONFIG_FILE} when it exists)
  --no-functions           bare emulators: provision nothing, run no handler
  --state <file>           keep state in this file (written atomically) and reload it at start
  --profile <aws|ideal>    how unforgiving AWS and NVCF are (default ${DEFAULT_PROFILE}): aws models IAM's eventual
                           consistency (new keys work after 10 s, ListAccessKeys lags 5 s, last use shows after
                           4 h) and NVCF's caches (list 60 s, credential 300 s, running workloads refresh every
                           hour); ideal has none of them. GET/POST /_sandbox/profile shows and overrides each knob
  --key-propagation <s>    seconds before a new access key works (default: the profile's)
  --log-level <level>      debug, info, warn or error (default info)
  -h, --help               show this help

Point the AWS CLI or an SDK at it:
  export AWS_ENDPOINT_URL=<awsEndpoint> AWS_ACCESS_KEY_ID=<accessKeyId> AWS_SECRET_ACCESS_KEY=<secretAccessKey> AWS_REGION=<region>
  aws sts get-caller-identity

Exit codes:
  0  stopped by SIGINT or SIGTERM
  2  could not start (port in use, invalid configuration, unreadable state file)`;

function intOption(
  values: CommandContext['values'],
  name: string,
  min: number,
  max: number,
): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (typeof raw !== 'string' || !Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(
      `--${name} must be a whole number from ${min} to ${max}, got '${String(raw)}'`,
      'sandbox',
    );
  }
  return n;
}

export const command: Command = {
  name: 'sandbox',
  summary: 'run the local AWS + NVCF sandbox (what the tests and the demo run on)',
  usage: 'nvcf-ecr sandbox [--profile aws|ideal] [--port N] [--config FILE] [--no-functions] [--state FILE]',
  help: HELP,
  options: {
    ...CONFIG_OPTIONS,
    port: { type: 'string' },
    'no-functions': { type: 'boolean' },
    state: { type: 'string' },
    'key-propagation': { type: 'string' },
    profile: { type: 'string' },
    'log-level': { type: 'string' },
  },
  positionals: { min: 0, max: 0 },
  async run({ values, io }) {
    const level = (values['log-level'] as string | undefined) ?? 'info';
    if (!['debug', 'info', 'warn', 'error'].includes(level)) {
      throw new UsageError(`--log-level must be debug, info, warn or error, got '${level}'`, 'sandbox');
    }
    const port = intOption(values, 'port', 1024, 65532);
    const profile = profileOption(values['profile'], 'sandbox');
    const keyPropagationSeconds = intOption(values, 'key-propagation', 0, 600);
    const noFunctions = values['no-functions'] === true;
    const config = await loadCommandConfig(values, { required: false });
    const { SandboxError, startSandbox, stderrLogger } = await loadSandbox();
    const logger = stderrLogger(level as 'debug' | 'info' | 'warn' | 'error');
    const options: SandboxOptions = {
      profile,
      ...(keyPropagationSeconds !== undefined ? { keyPropagationSeconds } : {}),
      logger,
      noFunctions,
      ...(port ? { port } : {}),
      ...(config ? { config } : {}),
      ...(typeof values['state'] === 'string' ? { statePath: values['state'] } : {}),
      ...(noFunctions ? {} : { handlers: sandboxHandlers() }),
    };
    // Listen for the stop signals before announcing the endpoints: a supervisor may stop us the moment it reads them.
    const stopped = new Promise<string>((resolve) => {
      process.once('SIGINT', () => resolve('SIGINT'));
      process.once('SIGTERM', () => resolve('SIGTERM'));
    });
    let sandbox: Awaited<ReturnType<typeof startSandbox>>;
    try {
      sandbox = await startSandbox(options);
    } catch (err) {
      if (err instanceof SandboxError) throw new CliError(err.message, 2, { cause: err });
      throw err;
    }
    const info: SandboxInfo = {
      awsEndpoint: sandbox.awsEndpoint,
      registryEndpoint: sandbox.registryEndpoint,
      nvcfEndpoint: sandbox.nvcfEndpoint,
      controlEndpoint: sandbox.controlEndpoint,
      region: sandbox.region,
      accountId: sandbox.accountId,
      accessKeyId: sandbox.accessKeyId,
      secretAccessKey: sandbox.secretAccessKey,
      ngcApiKey: sandbox.ngcApiKey,
    };
    io.stdout.write(`${JSON.stringify(info)}\n`);
    logger.info('sandbox started', {
      awsEndpoint: info.awsEndpoint,
      registryEndpoint: info.registryEndpoint,
      nvcfEndpoint: info.nvcfEndpoint,
      controlEndpoint: info.controlEndpoint,
      account: info.accountId,
      region: info.region,
      config: config ? 'loaded' : 'none (bare emulators with the default account)',
      profile: sandbox.world.profile.view(),
      functions: noFunctions ? 'none' : Object.keys(options.handlers ?? {}),
    });
    logger.info(`received ${await stopped}, stopping`);
    await sandbox.close();
    return 0;
  },
};
