import { type Config, ConfigError, serializeConfig } from '@nvcf-ecr/core/config';
import { FUNCTIONS, type FunctionKey } from '@nvcf-ecr/core/events';
import { RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Function as SstFunction, type Stack } from 'sst/constructs';
import { useProject } from 'sst/project.js';
import { ENV } from '../../functions/lib/environment.ts';
import { functionBundling } from './bundling.ts';
import { logStatements, type PermissionStatement } from './permissions.ts';
import { type StackSettings, suppress } from './stack.ts';

/**
 * The one way the stacks create a Lambda function, so every function is built alike: `nodejs22.x` on
 * arm64 (Graviton: about 20 % cheaper per GB-second than x86 for the same work, and our code is pure JS),
 * bundled by SST's esbuild as minified ESM (the AWS SDK v3 clients are bundled from their ES modules, so
 * esbuild drops the commands a handler does not import), its own log group with a retention, and its own
 * role holding exactly the statements of `permissions.ts`. Memory and timeout are core's `FUNCTIONS` (shared
 * with the sandbox runtime, which enforces the same timeouts): 256 MB for the rotation and the retirement
 * (network-bound API calls), 512 MB for push validation (manifests and config blobs in a content cache),
 * 1 GB for the audit (every repository, three report formats); more memory also buys CPU, which shortens the
 * TLS-heavy runs.
 */

/** Log retention of every function (CloudWatch Logs bills storage; a month covers an incident review). */
export const LOG_RETENTION = logs.RetentionDays.ONE_MONTH;

/** Lambda refuses functions whose environment (names and values) exceeds 4 KB. */
export const LAMBDA_ENVIRONMENT_LIMIT = 4096;

export interface NodeFunctionOptions {
  readonly key: FunctionKey;
  /** The project bus (name), for `NVCF_ECR_EVENT_BUS`. */
  readonly eventBusName: string;
  /** From `PERMISSIONS[key](...)`; the factory adds writing the function's own log group. */
  readonly statements: readonly PermissionStatement[];
  readonly environment?: Readonly<Record<string, string>>;
  /** Reserved concurrency, where it protects a downstream API (each caller says why). */
  readonly reservedConcurrency?: number;
}

/** `functions/rotate-credential.ts` → `functions/rotate-credential.handler` (SST's `file.export` form). */
export function handlerPath(key: FunctionKey): string {
  return `${FUNCTIONS[key].entry.replace(/\.ts$/, '')}.handler`;
}

/**
 * The environment every handler reads (`functions/lib/environment.ts`): the validated configuration as JSON
 * (names of secrets, never their values) and the bus. {@link nodeFunction} refuses one beyond Lambda's 4 KB at
 * synth, rather than letting the deployment fail.
 */
export function functionEnvironment(
  config: Config,
  eventBusName: string,
  extra: Readonly<Record<string, string>> = {},
): Record<string, string> {
  const environment: Record<string, string> = {
    [ENV.config]: serializeConfig(config),
    [ENV.eventBus]: eventBusName,
    ...extra,
  };
  return environment;
}

function environmentSize(environment: Readonly<Record<string, string>>): number {
  return Object.entries(environment).reduce(
    (n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v),
    0,
  );
}

/** Creates the function of `key` with its log group, its role and the settings every function shares. */
export function nodeFunction(
  stack: Stack,
  settings: StackSettings,
  options: NodeFunctionOptions,
): SstFunction {
  const { key } = options;
  const spec = FUNCTIONS[key];
  const id = key.charAt(0).toUpperCase() + key.slice(1);
  const functionName = settings.named(spec.name);

  const environment = functionEnvironment(settings.config, options.eventBusName, options.environment);
  // SST adds SST_APP, SST_STAGE, SST_SSM_PREFIX and AWS_NODEJS_CONNECTION_REUSE_ENABLED (about 150 bytes).
  const size = environmentSize(environment) + 256;
  if (size > LAMBDA_ENVIRONMENT_LIMIT) {
    throw new ConfigError(
      [
        {
          path: 'registries',
          message:
            `make ${functionName}'s environment about ${size} bytes, which exceeds Lambda's ${LAMBDA_ENVIRONMENT_LIMIT}: split the ` +
            'registries across two configurations (each with its own ngc.apiKeySecretName) and deploy each to its own stage',
        },
      ],
      'the stacks',
    );
  }

  // Created here, not by Lambda on first write, so it has a retention and the role needs no
  // logs:CreateLogGroup. Logs hold no secrets (the handlers redact), so they go with the stack on removal.
  const logGroup = new logs.LogGroup(stack, `${id}Logs`, {
    logGroupName: `/aws/lambda/${functionName}`,
    retention: LOG_RETENTION,
    removalPolicy: RemovalPolicy.DESTROY,
  });

  const statements = [...logStatements(logGroup.logGroupArn), ...options.statements];
  // A fixed name, so that a repository policy in another account can name the role (a policy naming a role
  // that is later replaced stops matching it). IAM names are account-wide: the region keeps two regions of
  // one stage apart.
  const roleName = `${functionName}-${settings.deployment.region}`;
  if (roleName.length > 64) {
    throw new ConfigError(
      [
        {
          path: 'stage',
          message: `makes the role name '${roleName}' longer than IAM's 64 characters: use a shorter stage`,
        },
      ],
      'the stacks',
    );
  }
  const role = new iam.Role(stack, `${id}Role`, {
    roleName,
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: `Execution role of ${functionName}: exactly what ${spec.entry} calls (stacks/lib/permissions.ts)`,
    inlinePolicies: {
      [spec.name]: new iam.PolicyDocument({
        statements: statements.map(
          (s) =>
            new iam.PolicyStatement({
              sid: s.sid,
              actions: [...s.actions],
              resources: [...s.resources],
              ...(s.conditions ? { conditions: s.conditions } : {}),
            }),
        ),
      }),
    },
  });

  const fn = new SstFunction(stack, id, {
    handler: handlerPath(key),
    functionName,
    description: spec.description,
    runtime: 'nodejs22.x',
    architecture: 'arm_64',
    memorySize: spec.memoryMb,
    timeout: spec.timeoutSeconds,
    // The handlers are not instrumented for X-Ray; active tracing would only add xray:Put* on '*' to the role.
    tracing: 'disabled',
    role,
    logGroup,
    environment,
    ...(options.reservedConcurrency === undefined
      ? {}
      : { reservedConcurrentExecutions: options.reservedConcurrency }),
    nodejs: {
      format: 'esm',
      minify: true,
      sourcemap: false,
      // The environment credential provider, no `__name()` wrappers, the SDK's schemas made tree-shakeable
      // (bundling.ts says why for each). SST bundles the stacks, so `import.meta.url` is not this file's: the
      // project root comes from SST.
      esbuild: functionBundling(useProject().paths.root),
    },
  });

  suppress(fn, [
    {
      id: 'AwsSolutions-L1',
      reason:
        'nodejs22.x is the runtime this project targets and tests on (package.json engines, CI, the sandbox); the ' +
        'runtime is a single constant in stacks/lib/functions.ts, to be raised together with engines.',
    },
  ]);
  const wildcards = statements.flatMap((s) => {
    const all = [
      ...new Set(s.resources.map((r) => flattenReference(stack.resolve(r))).filter((r) => r.includes('*'))),
    ];
    if (all.length === 0) return [];
    if (!s.wildcardReason) {
      throw new Error(
        `Permission ${s.sid} of ${spec.entry} has wildcard resources (${all.join(', ')}) but no wildcardReason: say why in stacks/lib/permissions.ts`,
      );
    }
    return [
      {
        id: 'AwsSolutions-IAM5',
        reason: `${s.sid}: ${s.wildcardReason}`,
        appliesTo: all.map((r) => `Resource::${r}`),
      },
    ];
  });
  if (wildcards.length > 0) suppress(role, wildcards);
  return fn;
}

/**
 * A resolved CloudFormation value as cdk-nag names it in findings (`<Logical.Arn>/reports/*`,
 * `arn:<AWS::Partition>:...`), so suppressions name exactly the resources they cover.
 */
function flattenReference(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value !== null && typeof value === 'object') {
    const v = value as Record<string, unknown>;
    if (Array.isArray(v['Fn::Join'])) {
      const [separator, parts] = v['Fn::Join'] as [string, unknown[]];
      return parts.map(flattenReference).join(separator);
    }
    if (Array.isArray(v['Fn::GetAtt'])) {
      const [id, attribute] = v['Fn::GetAtt'] as [string, string];
      return `<${id}.${attribute}>`;
    }
    if ('Fn::ImportValue' in v) return flattenReference(v['Fn::ImportValue']);
    if ('Ref' in v) return `<${String(v['Ref'])}>`;
  }
  return JSON.stringify(value);
}
