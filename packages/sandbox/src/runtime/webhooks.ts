import {
  CreateApiDestinationCommand,
  CreateConnectionCommand,
  DescribeApiDestinationCommand,
  type EventBridgeClient,
  PutTargetsCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-eventbridge';
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  ResourceExistsException,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { type Config, URL_SECRET_PLACEHOLDER } from '@nvcf-ecr/core/config';
import {
  consoleUrl,
  NOTIFICATION_RULE_PREFIX,
  PROJECT_EVENT_BUS_NAME,
  WEBHOOK_DEAD_LETTER_QUEUE_NAME,
  WEBHOOK_RETRY_POLICY,
  webhookConnectionAuth,
  webhookDestinationName,
  webhookTransformer,
} from '@nvcf-ecr/core/events';
import { SandboxError } from '../errors.ts';
import type { World } from '../world.ts';

/**
 * The webhooks of `notifications.webhooks`, provisioned as the stacks deploy them (`stacks/lib/webhooks.ts`):
 * a connection and an API destination per webhook, and a target with the core input transformer, retry
 * policy and dead-letter queue on each notification rule it subscribes to. A secret is read from the
 * sandbox's Secrets Manager when provisioning, as CloudFormation resolves the template's dynamic reference at
 * deploy time; `webhookSecrets` (sandbox option) stores values under the webhooks' `secretName`s first, the
 * way the runtime stores the NGC key. A webhook whose secret does not exist fails provisioning with the fix.
 */

export interface WebhookProvisionInput {
  world: World;
  config: Config;
  region: string;
  events: EventBridgeClient;
  secrets: SecretsManagerClient;
  webhookSecrets?: Readonly<Record<string, string>> | undefined;
}

export interface ProvisionedWebhook {
  name: string;
  format: string;
  destinationArn: string;
  rules: string[];
}

export async function provisionWebhooks(input: WebhookProvisionInput): Promise<ProvisionedWebhook[]> {
  const { world, config, region, events, secrets } = input;
  const out: ProvisionedWebhook[] = [];
  for (const [name, value] of Object.entries(input.webhookSecrets ?? {})) {
    await secrets
      .send(new CreateSecretCommand({ Name: name, SecretString: value, Description: 'Webhook credential' }))
      .catch((err: unknown) => {
        if (!(err instanceof ResourceExistsException)) throw err;
      });
  }
  const ctx = { consoleUrl: consoleUrl(world.partition) };
  const dlq = `arn:${world.partition}:sqs:${region}:${world.accountId}:${WEBHOOK_DEAD_LETTER_QUEUE_NAME}`;
  const role = `arn:${world.partition}:iam::${world.accountId}:role/nvcf-ecr-webhook-invoke`;
  for (const hook of config.notifications.webhooks) {
    const secret = hook.secretName ? await secretValue(secrets, hook.secretName, hook.name) : undefined;
    const name = webhookDestinationName(hook.name);
    const destinationArn = await existingDestination(events, name);
    let arn = destinationArn;
    if (!arn) {
      const auth = webhookConnectionAuth(hook);
      const { ConnectionArn } = await events.send(
        new CreateConnectionCommand({
          Name: name,
          AuthorizationType: 'API_KEY',
          AuthParameters: {
            ApiKeyAuthParameters: {
              ApiKeyName: auth.header,
              ApiKeyValue: auth.fromSecret ? (secret ?? '') : auth.value,
            },
          },
        }),
      );
      const endpoint = secret !== undefined ? hook.url.replace(URL_SECRET_PLACEHOLDER, secret) : hook.url;
      const created = await events.send(
        new CreateApiDestinationCommand({
          Name: name,
          ConnectionArn,
          InvocationEndpoint: endpoint,
          HttpMethod: 'POST',
          InvocationRateLimitPerSecond: hook.rateLimitPerSecond,
        }),
      );
      arn = created.ApiDestinationArn;
    }
    if (!arn) throw new SandboxError(`the API destination of webhook '${hook.name}' was not created`);
    const rules: string[] = [];
    for (const key of hook.events) {
      const rule = `${NOTIFICATION_RULE_PREFIX}${key}`;
      const t = webhookTransformer(hook.format, key, ctx);
      await events.send(
        new PutTargetsCommand({
          Rule: rule,
          EventBusName: PROJECT_EVENT_BUS_NAME,
          Targets: [
            {
              Id: `webhook-${hook.name}`,
              Arn: arn,
              RoleArn: role,
              InputTransformer: { InputPathsMap: { ...t.InputPathsMap }, InputTemplate: t.InputTemplate },
              RetryPolicy: { ...WEBHOOK_RETRY_POLICY },
              DeadLetterConfig: { Arn: dlq },
            },
          ],
        }),
      );
      rules.push(rule);
    }
    out.push({ name: hook.name, format: hook.format, destinationArn: arn, rules });
  }
  return out;
}

async function secretValue(secrets: SecretsManagerClient, secretName: string, hook: string): Promise<string> {
  try {
    const { SecretString } = await secrets.send(new GetSecretValueCommand({ SecretId: secretName }));
    if (SecretString === undefined) throw new SandboxError(`secret ${secretName} holds no string`);
    return SecretString;
  } catch (err) {
    if ((err as Error)?.name !== 'ResourceNotFoundException') throw err;
    throw new SandboxError(
      `webhook '${hook}': secret ${secretName} does not exist: create it, or pass its value in the sandbox option webhookSecrets`,
    );
  }
}

/** The ARN of a destination left by an earlier start (a restart with `--state` changes nothing). */
async function existingDestination(events: EventBridgeClient, name: string): Promise<string | undefined> {
  try {
    return (await events.send(new DescribeApiDestinationCommand({ Name: name }))).ApiDestinationArn;
  } catch (err) {
    if (err instanceof ResourceNotFoundException || (err as Error)?.name === 'ResourceNotFoundException')
      return undefined;
    throw err;
  }
}
