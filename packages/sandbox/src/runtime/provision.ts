import { CreateRepositoryCommand, ECRClient, RepositoryAlreadyExistsException } from '@aws-sdk/client-ecr';
import {
  CreateEventBusCommand,
  EventBridgeClient,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
  ResourceAlreadyExistsException,
} from '@aws-sdk/client-eventbridge';
import {
  CreateUserCommand,
  EntityAlreadyExistsException,
  IAMClient,
  PutUserPolicyCommand,
} from '@aws-sdk/client-iam';
import { BucketAlreadyOwnedByYou, CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  ResourceExistsException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { Config, RegistryConfig } from '@nvcf-ecr/core/config';
import {
  ecrPushRulePattern,
  type FunctionKey,
  NOTIFICATION_RULE_PREFIX,
  NOTIFICATION_TOPIC_NAME,
  notificationPatterns,
  PROJECT_EVENT_BUS_NAME,
  PULL_POLICY_NAME,
  RETIRE_SCHEDULE,
  RULE_NAMES,
  reportBucketName,
} from '@nvcf-ecr/core/events';
import { minimalPullPolicy } from '@nvcf-ecr/core/iam';
import { startRotation } from '@nvcf-ecr/core/rotation';
import { iamSigningRegion } from '../services/iam/routes.ts';
import type { World } from '../world.ts';
import { type ProvisionedWebhook, provisionWebhooks } from './webhooks.ts';

/**
 * Provisioning of what the stacks deploy, through the emulated APIs (see `runtime.ts`). Per registry: the
 * pull user with NVCF's minimal policy, the configured private repositories (the stacks do NOT create
 * repositories — the operator owns them — but the sandbox needs them to exist before anything can be
 * pushed), and the rotated secret holding the non-secret bootstrap value (the rotation's first run turns it
 * into the first key, as deployed). Once: the NGC API key secret holding the sandbox's NGC key, the project
 * bus, the report bucket, and the rules: ECR push rule (default bus of each region with private registries)
 * → validatePush, audit schedule → audit, hourly retire schedule → retireKeys, notification rules on the
 * project bus → the SNS topic (recorded by the sandbox's EventBridge, not emulated). When a rotation
 * handler is given, each rotated secret gets its rotation configuration with `RotateImmediately`: the stacks'
 * schedule only has Secrets Manager test the function (a deploy never rotates), and the operator then stores
 * the NGC key and runs the first rotation (`nvcf-ecr rotate`); the sandbox stores its NGC key itself, so it
 * does both at once, as one call.
 */

export interface ProvisionedRegistry {
  name: string;
  hostname: string;
  repositories: string[];
  /** ARN of the rotated secret. */
  secretId: string | undefined;
  userName: string;
  credentialName: string;
}

export interface ProvisionedRule {
  name: string;
  arn: string | undefined;
  region: string;
  bus: string;
  eventPattern?: string | undefined;
  scheduleExpression?: string | undefined;
  targets: { id: string; arn: string }[];
}

export interface Provisioned {
  registries: ProvisionedRegistry[];
  rules: ProvisionedRule[];
  /** Webhooks: their API destinations and the notification rules that target them. */
  webhooks: ProvisionedWebhook[];
  /** Steps skipped because this sandbox does not emulate the service (see {@link notEmulated}). */
  skipped: { step: string; reason: string }[];
}

export interface ProvisionInput {
  world: World;
  config: Config;
  region: string;
  ngcApiKey: string | undefined;
  webhookSecrets?: Readonly<Record<string, string>> | undefined;
  /** ARNs of the functions that are wired, by key. */
  functions: Partial<Record<FunctionKey, string>>;
}

export function emptyProvisioned(): Provisioned {
  return { registries: [], rules: [], webhooks: [], skipped: [] };
}

/**
 * True when an error means the sandbox does not mount the service at all: its front door answers an unknown
 * JSON target prefix with `UnknownOperationException` "Unknown target …", and an unrouted REST request with
 * a bare 404. Services are written independently and this keeps a sandbox without one of them usable; the
 * skipped step is reported in `GET /_sandbox/state` (`runtime.skipped`) and logged.
 */
function notEmulated(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if (err.name === 'UnknownOperationException' && err.message.startsWith('Unknown target ')) return true;
  return status === 404 && (err.name === 'NotFound' || err.name === 'UnknownError' || err.name === 'Unknown');
}

/** The non-secret value a rotated secret starts with: who and where, no key (architecture, "Rotation protocol"). */
export function bootstrapSecretValue(registry: RegistryConfig): string {
  return JSON.stringify({
    userName: registry.userName,
    registryHostname: registry.hostname,
    credentialName: registry.credentialName,
  });
}

export async function provision(input: ProvisionInput): Promise<Provisioned> {
  const { world, config, region, functions } = input;
  const out = emptyProvisioned();
  const base = {
    endpoint: world.endpoints.aws,
    credentials: { ...world.serviceKey },
    maxAttempts: 1,
  };
  // IAM is global: with an endpoint override the SDK signs for the client's region, so name the region IAM's
  // endpoint signs for (the sandbox refuses any other, as AWS does).
  const iam = new IAMClient({ ...base, region: iamSigningRegion(world.partition) });
  const secrets = new SecretsManagerClient({ ...base, region });
  const events = (r: string) => new EventBridgeClient({ ...base, region: r });
  const skipped = new Set<string>();

  /** Runs a step; a service the sandbox does not mount skips it (and every later step of that service). */
  const step = async <T>(service: string, name: string, fn: () => Promise<T>): Promise<T | undefined> => {
    if (skipped.has(service)) return undefined;
    try {
      return await fn();
    } catch (err) {
      if (!notEmulated(err)) throw err;
      skipped.add(service);
      const reason = `this sandbox does not emulate ${service}`;
      out.skipped.push({ step: name, reason });
      world.log.warn('runtime provisioning step skipped', { step: name, reason });
      return undefined;
    }
  };
  const ignore =
    (...classes: (abstract new (...args: never[]) => Error)[]) =>
    (err: unknown) => {
      if (classes.some((c) => err instanceof c)) return undefined;
      throw err;
    };

  // Per registry: pull user and policy, repositories, rotated secret.
  for (const registry of config.registries) {
    await iam
      .send(new CreateUserCommand({ UserName: registry.userName }))
      .catch(ignore(EntityAlreadyExistsException));
    await iam.send(
      new PutUserPolicyCommand({
        UserName: registry.userName,
        PolicyName: PULL_POLICY_NAME,
        PolicyDocument: JSON.stringify(minimalPullPolicy(registry)),
      }),
    );
    if (registry.kind === 'private') {
      const ecr = new ECRClient({ ...base, region: registry.region });
      for (const repositoryName of registry.repositories) {
        await step('ECR', `ecr:CreateRepository ${repositoryName}`, () =>
          ecr
            .send(new CreateRepositoryCommand({ repositoryName }))
            .catch(ignore(RepositoryAlreadyExistsException)),
        );
      }
    }
    const secretId = await step(
      'Secrets Manager',
      `secretsmanager:CreateSecret ${registry.secretName}`,
      async () => {
        const created = await secrets
          .send(
            new CreateSecretCommand({
              Name: registry.secretName,
              SecretString: bootstrapSecretValue(registry),
              Description: `NVCF pull key of registry ${registry.name} (${registry.hostname}), rotated by nvcf-ecr-autopilot`,
            }),
          )
          .catch(ignore(ResourceExistsException));
        return (
          created?.ARN ??
          (await secrets.send(new DescribeSecretCommand({ SecretId: registry.secretName }))).ARN
        );
      },
    );
    out.registries.push({
      name: registry.name,
      hostname: registry.hostname,
      repositories: [...registry.repositories],
      secretId,
      userName: registry.userName,
      credentialName: registry.credentialName,
    });
  }

  // The NGC API key secret: the stacks create it empty for the operator to fill; the sandbox fills it with
  // the key its NVCF emulator accepts. An existing secret is left alone (its value may have been changed).
  if (input.ngcApiKey !== undefined) {
    const ngcApiKey = input.ngcApiKey;
    await step('Secrets Manager', `secretsmanager:CreateSecret ${config.ngc.apiKeySecretName}`, () =>
      secrets
        .send(
          new CreateSecretCommand({
            Name: config.ngc.apiKeySecretName,
            SecretString: ngcApiKey,
            Description: 'NGC API key',
          }),
        )
        .catch(ignore(ResourceExistsException)),
    );
  }

  await events(region)
    .send(new CreateEventBusCommand({ Name: PROJECT_EVENT_BUS_NAME }))
    .catch(ignore(ResourceAlreadyExistsException));

  const bucket = reportBucketName(world.accountId, region);
  const s3 = new S3Client({ ...base, region, forcePathStyle: true });
  await step('S3', `s3:CreateBucket ${bucket}`, () =>
    s3
      .send(
        new CreateBucketCommand({
          Bucket: bucket,
          ...(region === 'us-east-1'
            ? {}
            : { CreateBucketConfiguration: { LocationConstraint: region as never } }),
        }),
      )
      .catch(ignore(BucketAlreadyOwnedByYou)),
  );

  // Rules. A rule whose function is not wired keeps no target: it exists (as deployed) and matches, and
  // GET /_sandbox/events shows it matched with nowhere to go.
  const rule = async (spec: {
    region: string;
    name: string;
    bus?: string;
    eventPattern?: string;
    scheduleExpression?: string;
    description: string;
    targetId: string;
    targetArn: string | undefined;
  }) => {
    const client = events(spec.region);
    const bus = spec.bus ?? 'default';
    const { RuleArn } = await client.send(
      new PutRuleCommand({
        Name: spec.name,
        EventBusName: bus,
        EventPattern: spec.eventPattern,
        ScheduleExpression: spec.scheduleExpression,
        Description: spec.description,
        State: 'ENABLED',
      }),
    );
    if (spec.targetArn) {
      await client.send(
        new PutTargetsCommand({
          Rule: spec.name,
          EventBusName: bus,
          Targets: [{ Id: spec.targetId, Arn: spec.targetArn }],
        }),
      );
    } else {
      await client.send(
        new RemoveTargetsCommand({ Rule: spec.name, EventBusName: bus, Ids: [spec.targetId] }),
      );
    }
    out.rules.push({
      name: spec.name,
      arn: RuleArn,
      region: spec.region,
      bus,
      ...(spec.eventPattern ? { eventPattern: spec.eventPattern } : {}),
      ...(spec.scheduleExpression ? { scheduleExpression: spec.scheduleExpression } : {}),
      targets: spec.targetArn ? [{ id: spec.targetId, arn: spec.targetArn }] : [],
    });
  };

  // ECR emits in the repository's region, so each region with private registries gets its own push rule.
  const regions = [
    ...new Set(config.registries.filter((r) => r.kind === 'private').map((r) => r.region)),
  ].sort();
  for (const r of regions) {
    const pattern = ecrPushRulePattern(config, r);
    if (!pattern) continue;
    await rule({
      region: r,
      name: RULE_NAMES.ecrPush,
      eventPattern: JSON.stringify(pattern),
      description: 'ECR pushes to the repositories NVCF pulls from',
      targetId: 'validate-push',
      targetArn: functions.validatePush,
    });
  }
  await rule({
    region,
    name: RULE_NAMES.auditSchedule,
    scheduleExpression: config.audit.schedule,
    description: 'Compliance audit schedule',
    targetId: 'audit',
    targetArn: functions.audit,
  });
  await rule({
    region,
    name: RULE_NAMES.retireSchedule,
    scheduleExpression: RETIRE_SCHEDULE,
    description: 'Retirement of previous pull keys after their grace period',
    targetId: 'retire-keys',
    targetArn: functions.retireKeys,
  });
  const topic = `arn:${world.partition}:sns:${region}:${world.accountId}:${NOTIFICATION_TOPIC_NAME}`;
  for (const [key, pattern] of Object.entries(notificationPatterns())) {
    await rule({
      region,
      name: `${NOTIFICATION_RULE_PREFIX}${key}`,
      bus: PROJECT_EVENT_BUS_NAME,
      eventPattern: JSON.stringify(pattern),
      description: `Notification: ${key}`,
      targetId: 'notify',
      targetArn: topic,
    });
  }

  out.webhooks = await provisionWebhooks({
    world,
    config,
    region,
    events: events(region),
    secrets,
    webhookSecrets: input.webhookSecrets,
  });

  // The first rotation (see above): configure rotation and rotate now, unless the secret already rotates with this
  // function and these rules (a restart with --state must not rotate again).
  const rotate = functions.rotateCredential;
  if (rotate) {
    for (const [i, registry] of config.registries.entries()) {
      const secretId = out.registries[i]?.secretId;
      if (!secretId) continue;
      const rules = { ScheduleExpression: registry.rotation.schedule, Duration: registry.rotation.window };
      const current = await secrets.send(new DescribeSecretCommand({ SecretId: secretId }));
      const same =
        current.RotationEnabled === true &&
        current.RotationLambdaARN === rotate &&
        current.RotationRules?.ScheduleExpression === rules.ScheduleExpression &&
        current.RotationRules?.Duration === rules.Duration;
      if (same) continue;
      await startRotation(
        registry,
        { secrets },
        {
          preflight: false,
          configure: {
            lambdaArn: rotate,
            scheduleExpression: rules.ScheduleExpression,
            duration: rules.Duration,
          },
        },
      );
    }
  }
  return out;
}
