import { join } from 'node:path';
import { DescribeRepositoriesCommand } from '@aws-sdk/client-ecr';
import {
  DescribeEventBusCommand,
  DescribeRuleCommand,
  ListRulesCommand,
  ListTargetsByRuleCommand,
  PutEventsCommand,
} from '@aws-sdk/client-eventbridge';
import { GetUserPolicyCommand, ListUsersCommand } from '@aws-sdk/client-iam';
import { HeadBucketCommand } from '@aws-sdk/client-s3';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import type { Config } from '@nvcf-ecr/core/config';
import { ecrPushRulePattern } from '@nvcf-ecr/core/events';
import { minimalPullPolicy } from '@nvcf-ecr/core/iam';
import type { HandlerEnvironment, RunningSandbox, RuntimeHandlers } from '@nvcf-ecr/sandbox';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ACCOUNT, HOST, prodConfig } from '../../helpers/config.ts';
import { clients, control, withSandbox } from '../../helpers/sandbox.ts';
import { useTempDir } from '../../helpers/temp-dir.ts';

const REGION = 'us-east-1';
const fn = (name: string) => `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`;
const rule = (name: string, bus?: string) =>
  `arn:aws:events:${REGION}:${ACCOUNT}:rule/${bus ? `${bus}/` : ''}${name}`;

const config: Config = prodConfig(
  { repositories: ['inference', 'tools'], rotation: { schedule: 'rate(30 days)', window: '3h' } },
  { audit: { schedule: 'rate(1 day)' } },
);
const registry = config.registries[0] as Config['registries'][number];

interface Call {
  fn: string;
  event: Record<string, unknown>;
  env: HandlerEnvironment;
}

/**
 * Tiny handlers standing in for `functions/` (the runtime is given handlers; it never imports them). The
 * rotation one does the minimum a rotation function must — store a value for the token, then move
 * AWSCURRENT — through the SDK, with the environment the runtime hands it.
 */
function testHandlers(calls: Call[]): RuntimeHandlers {
  const recorder = (name: string) => (env: HandlerEnvironment) => async (event: unknown) => {
    calls.push({ fn: name, event: event as Record<string, unknown>, env });
    if (
      name === 'validatePush' &&
      (event as { detail?: { 'image-tag'?: string } }).detail?.['image-tag'] === 'fail'
    ) {
      throw new Error('validation crashed');
    }
    return { ok: true };
  };
  return {
    validatePush: recorder('validatePush'),
    audit: recorder('audit'),
    retireKeys: recorder('retireKeys'),
    rotateCredential: (env) => {
      const sm = new SecretsManagerClient({
        region: env.region,
        endpoint: env.endpoints.aws,
        credentials: env.credentials,
        maxAttempts: 1,
      });
      return async (event) => {
        const e = event as { Step: string; SecretId: string; ClientRequestToken: string };
        calls.push({ fn: 'rotateCredential', event: e as unknown as Record<string, unknown>, env });
        if (e.Step === 'createSecret') {
          await sm.send(
            new PutSecretValueCommand({
              SecretId: e.SecretId,
              ClientRequestToken: e.ClientRequestToken,
              SecretString: '{"rotated":true}',
              VersionStages: ['AWSPENDING'],
            }),
          );
        }
        if (e.Step === 'finishSecret') {
          const d = await sm.send(new DescribeSecretCommand({ SecretId: e.SecretId }));
          const current = Object.entries(d.VersionIdsToStages ?? {}).find(([, s]) =>
            s.includes('AWSCURRENT'),
          )?.[0];
          await sm.send(
            new UpdateSecretVersionStageCommand({
              SecretId: e.SecretId,
              VersionStage: 'AWSCURRENT',
              MoveToVersionId: e.ClientRequestToken,
              RemoveFromVersionId: current,
            }),
          );
        }
      };
    },
  };
}

interface RuntimeState {
  registries: {
    name: string;
    hostname: string;
    repositories: string[];
    secretId: string;
    userName: string;
    credentialName: string;
  }[];
  functions: { name: string; arn: string }[];
  rules: { name: string; arn: string; bus: string; targets: { id: string; arn: string }[] }[];
  deadLetters: { functionArn: string; source: string; attempts: number; error: { message: string } }[];
  skipped: { step: string; reason: string }[];
}
const runtimeState = async (sb: RunningSandbox) =>
  (await control<{ runtime: RuntimeState }>(sb, 'GET', 'state')).runtime;

describe('Sandbox: local runtime', () => {
  let sb: RunningSandbox;
  let calls: Call[];
  let aws: ReturnType<typeof clients>;
  const callsOf = (name: string) => calls.filter((c) => c.fn === name);

  beforeAll(async () => {
    calls = [];
    sb = await withSandbox({
      config,
      handlers: testHandlers(calls),
      asyncRetryDelaysMs: [5, 5],
      rotationRetryDelayMs: 5,
    });
    aws = clients(sb);
    await sb.settle();
  });
  afterAll(() => sb.close());

  describe('Provisioning', () => {
    it('creates the pull user with exactly the minimal pull policy', async () => {
      const policy = await aws.iam.send(
        new GetUserPolicyCommand({ UserName: 'nvcf-ecr-prod', PolicyName: 'nvcf-ecr-pull' }),
      );
      expect(JSON.parse(decodeURIComponent(policy.PolicyDocument ?? ''))).toEqual(
        minimalPullPolicy(registry),
      );
    });

    it('creates the configured repositories so images can be pushed', async () => {
      const repos = await aws.ecr.send(new DescribeRepositoriesCommand({}));
      expect(repos.repositories?.map((r) => r.repositoryName).sort()).toEqual(['inference', 'tools']);
    });

    it('stores the NGC API key the NVCF emulator accepts in the NGC key secret', async () => {
      const ngc = await aws.secrets.send(new GetSecretValueCommand({ SecretId: 'nvcf-ecr/ngc-api-key' }));
      expect(ngc.SecretString).toBe(sb.ngcApiKey);
    });

    it('creates the rotated secret with the bootstrap value and rotates it at once with the rotation function', async () => {
      const d = await aws.secrets.send(new DescribeSecretCommand({ SecretId: 'nvcf-ecr/prod/pull-key' }));
      expect(d.RotationEnabled).toBe(true);
      expect(d.RotationLambdaARN).toBe(fn('nvcf-ecr-rotate-credential'));
      expect(d.RotationRules).toMatchObject({ ScheduleExpression: 'rate(30 days)', Duration: '3h' });
      const previous = await aws.secrets.send(
        new GetSecretValueCommand({ SecretId: 'nvcf-ecr/prod/pull-key', VersionStage: 'AWSPREVIOUS' }),
      );
      expect(JSON.parse(previous.SecretString ?? '')).toEqual({
        userName: 'nvcf-ecr-prod',
        registryHostname: HOST,
        credentialName: 'ecr-prod',
      });
      const current = await aws.secrets.send(
        new GetSecretValueCommand({ SecretId: 'nvcf-ecr/prod/pull-key' }),
      );
      expect(current.SecretString).toBe('{"rotated":true}');
      expect(callsOf('rotateCredential').map((c) => c.event['Step'])).toEqual([
        'createSecret',
        'setSecret',
        'testSecret',
        'finishSecret',
      ]);
    });

    it('hands each function its environment: config, account, region, endpoints, clock, bus and bucket', () => {
      const env = callsOf('rotateCredential')[0]?.env;
      expect(env).toMatchObject({
        config,
        accountId: ACCOUNT,
        region: REGION,
        endpoints: {
          aws: sb.awsEndpoint,
          nvcf: sb.nvcfEndpoint,
          registry: sb.registryEndpoint,
          control: sb.controlEndpoint,
        },
        eventBusName: 'nvcf-ecr-autopilot',
        reportBucket: `nvcf-ecr-reports-${ACCOUNT}-${REGION}`,
      });
      expect(Math.abs((env?.now().getTime() ?? 0) - sb.world.clock.nowMs())).toBeLessThan(1000);
    });

    it('creates the project bus and the report bucket', async () => {
      expect((await aws.events.send(new DescribeEventBusCommand({ Name: 'nvcf-ecr-autopilot' }))).Name).toBe(
        'nvcf-ecr-autopilot',
      );
      const head = await aws.s3.send(
        new HeadBucketCommand({ Bucket: `nvcf-ecr-reports-${ACCOUNT}-${REGION}` }),
      );
      expect(head.$metadata.httpStatusCode).toBe(200);
    });

    it("creates the rules with core's patterns and schedules, targeting the functions as the stacks do", async () => {
      const push = await aws.events.send(new DescribeRuleCommand({ Name: 'nvcf-ecr-push' }));
      expect(JSON.parse(push.EventPattern ?? '')).toEqual(ecrPushRulePattern(config));
      expect(
        (await aws.events.send(new ListTargetsByRuleCommand({ Rule: 'nvcf-ecr-push' }))).Targets,
      ).toEqual([{ Id: 'validate-push', Arn: fn('nvcf-ecr-validate-push') }]);
      const defaults = await aws.events.send(new ListRulesCommand({}));
      expect(defaults.Rules?.map((r) => [r.Name, r.ScheduleExpression])).toEqual([
        ['nvcf-ecr-audit-schedule', 'rate(1 day)'],
        ['nvcf-ecr-push', undefined],
        ['nvcf-ecr-retire-schedule', 'rate(1 hour)'],
      ]);
      const notify = await aws.events.send(new ListRulesCommand({ EventBusName: 'nvcf-ecr-autopilot' }));
      expect(notify.Rules?.map((r) => r.Name)).toEqual([
        'nvcf-ecr-notify-audit-failed',
        'nvcf-ecr-notify-image-not-compliant',
        'nvcf-ecr-notify-retirement-postponed',
        'nvcf-ecr-notify-rotation-failed',
      ]);
    });

    it('shows the runtime in GET /_sandbox/state', async () => {
      const state = await runtimeState(sb);
      expect(state.registries).toEqual([
        {
          name: 'prod',
          hostname: HOST,
          repositories: ['inference', 'tools'],
          secretId: expect.stringMatching(
            new RegExp(
              `^arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:nvcf-ecr/prod/pull-key-[A-Za-z]{6}$`,
            ),
          ),
          userName: 'nvcf-ecr-prod',
          credentialName: 'ecr-prod',
        },
      ]);
      expect(state.functions.map((f) => [f.name, f.arn]).sort()).toEqual(
        [
          'nvcf-ecr-audit',
          'nvcf-ecr-retire-keys',
          'nvcf-ecr-rotate-credential',
          'nvcf-ecr-validate-push',
        ].map((n) => [n, fn(n)]),
      );
      expect(state.rules.find((r) => r.name === 'nvcf-ecr-push')).toMatchObject({
        arn: rule('nvcf-ecr-push'),
        bus: 'default',
        targets: [{ id: 'validate-push', arn: fn('nvcf-ecr-validate-push') }],
      });
      expect(state.deadLetters).toEqual([]);
      expect(state.skipped).toEqual([]);
    });
  });

  describe('Wiring', () => {
    beforeEach(() => {
      calls.length = 0;
    });
    const push = (repository: string, tag: string) =>
      aws.events.send(
        new PutEventsCommand({
          Entries: [
            {
              Source: 'aws.ecr',
              DetailType: 'ECR Image Action',
              Detail: JSON.stringify({
                result: 'SUCCESS',
                'repository-name': repository,
                'image-digest': `sha256:${'a'.repeat(64)}`,
                'action-type': 'PUSH',
                'image-tag': tag,
              }),
            },
          ],
        }),
      );

    it('invokes validatePush with the EventBridge envelope of a matching push', async () => {
      const out = await push('inference', 'v1');
      await push('not-configured', 'v1');
      await sb.settle();
      expect(callsOf('validatePush').map((c) => c.event)).toEqual([
        {
          version: '0',
          id: out.Entries?.[0]?.EventId,
          'detail-type': 'ECR Image Action',
          source: 'aws.ecr',
          account: ACCOUNT,
          time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
          region: REGION,
          resources: [],
          detail: {
            result: 'SUCCESS',
            'repository-name': 'inference',
            'image-digest': `sha256:${'a'.repeat(64)}`,
            'action-type': 'PUSH',
            'image-tag': 'v1',
          },
        },
      ]);
    });

    it('retries a failing handler twice, then dead-letters the event (shown in the runtime state)', async () => {
      await push('tools', 'fail');
      await sb.settle();
      expect(callsOf('validatePush')).toHaveLength(3);
      const { deadLetters } = await runtimeState(sb);
      expect(deadLetters).toMatchObject([
        {
          functionArn: fn('nvcf-ecr-validate-push'),
          source: rule('nvcf-ecr-push'),
          attempts: 3,
          error: { message: 'validation crashed' },
        },
      ]);
    });

    it('fires the audit and retire schedules on the virtual clock', async () => {
      await control(sb, 'POST', 'clock', { advanceSeconds: 86400 });
      await control(sb, 'POST', 'settle');
      expect(callsOf('audit').map((c) => c.event)).toMatchObject([
        {
          source: 'aws.events',
          'detail-type': 'Scheduled Event',
          resources: [rule('nvcf-ecr-audit-schedule')],
          detail: {},
        },
      ]);
      expect(callsOf('retireKeys').map((c) => c.event)).toMatchObject([
        {
          source: 'aws.events',
          'detail-type': 'Scheduled Event',
          resources: [rule('nvcf-ecr-retire-schedule')],
        },
      ]);
    });
  });

  describe('Reset', () => {
    it('re-provisions everything after POST reset', async () => {
      await control(sb, 'POST', 'reset');
      await sb.settle();
      expect((await aws.iam.send(new ListUsersCommand({}))).Users?.map((u) => u.UserName)).toEqual([
        'nvcf-ecr-prod',
      ]);
      expect((await aws.events.send(new DescribeRuleCommand({ Name: 'nvcf-ecr-push' }))).State).toBe(
        'ENABLED',
      );
      const state = await runtimeState(sb);
      expect(state.registries.map((r) => r.name)).toEqual(['prod']);
      const current = await aws.secrets.send(
        new GetSecretValueCommand({ SecretId: 'nvcf-ecr/prod/pull-key' }),
      );
      expect(current.SecretString).toBe('{"rotated":true}');
    });
  });
});

describe('Sandbox: local runtime across restarts and without functions', () => {
  const dir = useTempDir('runtime-state-');

  it('provisions idempotently: a restart with --state changes nothing and does not rotate again', async () => {
    const statePath = join(dir(), 'state.json');
    const calls: Call[] = [];
    const first = await withSandbox({
      config,
      handlers: testHandlers(calls),
      statePath,
      rotationRetryDelayMs: 5,
    });
    await first.settle();
    const describe = async (sb: RunningSandbox) =>
      clients(sb).secrets.send(new DescribeSecretCommand({ SecretId: 'nvcf-ecr/prod/pull-key' }));
    const before = await describe(first);
    await first.close();
    const rotationsBefore = calls.filter((c) => c.fn === 'rotateCredential').length;

    const second = await withSandbox({
      config,
      handlers: testHandlers(calls),
      statePath,
      rotationRetryDelayMs: 5,
    });
    try {
      await second.settle();
      const after = await describe(second);
      expect(after.ARN).toBe(before.ARN);
      expect(after.VersionIdsToStages).toEqual(before.VersionIdsToStages);
      expect(calls.filter((c) => c.fn === 'rotateCredential')).toHaveLength(rotationsBefore);
      expect((await runtimeState(second)).registries[0]?.secretId).toBe(before.ARN);
    } finally {
      await second.close();
    }
  });

  it('provisions and wires nothing with noFunctions', async () => {
    const calls: Call[] = [];
    const sb = await withSandbox({ config, handlers: testHandlers(calls), noFunctions: true });
    try {
      const aws = clients(sb);
      expect((await aws.iam.send(new ListUsersCommand({}))).Users).toEqual([]);
      expect((await aws.events.send(new ListRulesCommand({}))).Rules).toEqual([]);
      const state = await runtimeState(sb);
      expect(state).toMatchObject({ registries: [], functions: [], rules: [] });
      expect(sb.lambda.list()).toEqual([]);
      expect(calls).toEqual([]);
    } finally {
      await sb.close();
    }
  });
});
