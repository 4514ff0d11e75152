import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, parseConfig } from '@nvcf-ecr/core/config';
import { FUNCTIONS, type FunctionKey, PROJECT_EVENT_BUS_NAME } from '@nvcf-ecr/core/events';
import { describe, expect, it } from 'vitest';
import { expectRejection } from '../unit/core/expect-error.ts';
import { ACCOUNT } from './configs.ts';
import { Resolver } from './resolve.ts';
import { type CfnResource, resourcesOfType, STACK_IDS, STAGE, type StackId, synth } from './synth.ts';

// Every function is built by the one factory: same runtime, architecture, logging, role shape and
// environment; and every handler under functions/ is deployed.

const multi = await synth('multi');

interface Deployed {
  readonly stack: StackId;
  readonly id: string;
  readonly fn: CfnResource;
}

function deployedFunctions(s: typeof multi): Deployed[] {
  return STACK_IDS.flatMap((stack) =>
    resourcesOfType(s.json[stack], 'AWS::Lambda::Function').map(([id, fn]) => ({ stack, id, fn })),
  );
}

const keys = Object.keys(FUNCTIONS) as FunctionKey[];

describe('Factory: nodeFunction', () => {
  it('deploys exactly the four functions of core’s FUNCTIONS (no framework helper functions)', () => {
    const names = deployedFunctions(multi).map((d) => d.fn.Properties['FunctionName']);
    expect(names.sort()).toEqual(keys.map((k) => `${STAGE}-${FUNCTIONS[k].name}`).sort());
  });

  it('builds every function for nodejs22.x on arm64, sized as core specifies, without X-Ray', () => {
    for (const key of keys) {
      const spec = FUNCTIONS[key];
      const deployed = deployedFunctions(multi).find(
        (d) => d.fn.Properties['FunctionName'] === `${STAGE}-${spec.name}`,
      );
      expect(deployed?.fn.Properties).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        MemorySize: spec.memoryMb,
        Timeout: spec.timeoutSeconds,
        Description: spec.description,
      });
      expect(deployed?.fn.Properties['TracingConfig']).toBeUndefined();
    }
  });

  it('writes each function’s logs to its own log group with a one-month retention', () => {
    for (const { stack, fn } of deployedFunctions(multi)) {
      const ref = (fn.Properties['LoggingConfig'] as { LogGroup: { Ref: string } }).LogGroup.Ref;
      const group = multi.json[stack].Resources[ref];
      expect(group?.Type).toBe('AWS::Logs::LogGroup');
      expect(group?.Properties).toMatchObject({
        LogGroupName: `/aws/lambda/${fn.Properties['FunctionName']}`,
        RetentionInDays: 30,
      });
    }
  });

  it('gives each function its own role with inline policies only: no managed policies, no attached policies', () => {
    const roles = new Set<string>();
    for (const { stack, fn } of deployedFunctions(multi)) {
      const [roleId] = (fn.Properties['Role'] as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'];
      roles.add(roleId);
      const role = multi.json[stack].Resources[roleId];
      expect(role?.Type).toBe('AWS::IAM::Role');
      expect(role?.Properties['ManagedPolicyArns']).toBeUndefined();
      expect(role?.Properties['AssumeRolePolicyDocument']).toEqual({
        Version: '2012-10-17',
        Statement: [
          { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } },
        ],
      });
      for (const template of Object.values(multi.json)) {
        for (const [, policy] of resourcesOfType(template, 'AWS::IAM::Policy')) {
          expect(JSON.stringify(policy.Properties['Roles'] ?? [])).not.toContain(`"${roleId}"`);
        }
      }
    }
    expect(roles.size).toBe(keys.length);
  });

  it('passes the validated configuration as JSON and the project bus, nothing else of ours', () => {
    const resolver = new Resolver(multi);
    for (const { stack, fn } of deployedFunctions(multi)) {
      const variables = (fn.Properties['Environment'] as { Variables: Record<string, unknown> }).Variables;
      const parsed = parseConfig(JSON.parse(variables['NVCF_ECR_CONFIG'] as string));
      // The configuration as this stage deploys it, every name written out as the stacks created it.
      expect(parsed).toEqual({
        ok: true,
        value: {
          ...multi.config,
          deployment: undefined,
          ngcSecretNamed: true,
          registries: multi.config.registries.map((r) => ({
            ...r,
            named: { userName: true, secretName: true },
          })),
        },
      });
      expect(multi.config.registries[0]?.userName).toBe(`nvcf-ecr-${STAGE}-us-east-1-prod`);
      expect(resolver.string(stack, variables['NVCF_ECR_EVENT_BUS'])).toBe(
        `${STAGE}-${PROJECT_EVENT_BUS_NAME}`,
      );
      const ours = Object.keys(variables).filter((k) => k.startsWith('NVCF_ECR_'));
      const expected = fn.Properties['FunctionName'] === `${STAGE}-${FUNCTIONS.audit.name}` ? 3 : 2;
      expect(ours).toHaveLength(expected);
    }
  });

  it('rejects a configuration too large for Lambda’s 4 KB environment, saying how to split it', async () => {
    const repositories = Array.from(
      { length: 100 },
      (_, i) => `team-${String(i).padStart(2, '0')}/inference-service-with-a-long-name`,
    );
    const huge = {
      ngc: { apiKeySecretName: 'nvcf-ecr/ngc-api-key' },
      registries: [
        {
          name: 'prod',
          hostname: `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com`,
          repositories,
          credentialName: 'ecr-prod',
        },
      ],
    };
    const { synthesize } = await import('../../stacks/lib/synth.ts');
    await expectRejection(
      () =>
        synthesize({
          stage: 'huge',
          config: huge,
          outdir: join(tmpdir(), 'nvcf-ecr-stack-test-huge'),
          bundle: false,
        }),
      ConfigError,
      'registries',
      'exceeds',
      'split the registries across two configurations',
    );
  });
});

describe('Wiring: functions/', () => {
  it('deploys every handler under functions/ (every module exporting `handler`), each named in core’s FUNCTIONS', () => {
    const dir = new URL('../../functions/', import.meta.url);
    const handlers = readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isFile() && e.name.endsWith('.ts'))
      .filter((e) => /^export const handler\b/m.test(readFileSync(new URL(e.name, dir), 'utf8')))
      .map((e) => `functions/${e.name}`);
    const deployed = new Set(deployedFunctions(multi).map((d) => d.fn.Properties['FunctionName']));
    for (const entry of handlers) {
      const key = keys.find((k) => FUNCTIONS[k].entry === entry);
      expect(key, `${entry} is not in core's FUNCTIONS`).toBeDefined();
      expect(deployed.has(`${STAGE}-${FUNCTIONS[key as FunctionKey].name}`), `${entry} is not deployed`).toBe(
        true,
      );
    }
    // And every function the stacks know has its handler: nothing is left behind the incremental guard.
    expect(handlers.sort()).toEqual(keys.map((k) => FUNCTIONS[k].entry).sort());
  });
});
