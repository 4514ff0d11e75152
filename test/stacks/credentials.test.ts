import { ConfigError } from '@nvcf-ecr/core/errors';
import { FUNCTIONS, PULL_POLICY_NAME, RETIRE_SCHEDULE, RULE_NAMES } from '@nvcf-ecr/core/events';
import { minimalPullPolicy } from '@nvcf-ecr/core/iam';
import {
  assertValueMatchesRegistry,
  DEPLOYED_BOOTSTRAP_VALUE,
  parseRotatedSecret,
} from '@nvcf-ecr/core/rotation';
import { describe, expect, it } from 'vitest';
import { expectRejection } from '../unit/core/expect-error.ts';
import { ACCOUNT, GOV_ACCOUNT, PARTNER_ACCOUNT } from './configs.ts';
import { findResource, resourcesOfType, STAGE, synth } from './synth.ts';

// Credentials: per registry the pull user (exactly NVCF's minimal policy), the rotated secret and its
// schedule; shared: the secrets key, the empty NGC API key secret, the rotation and retirement functions.

const example = await synth('example');
const multi = await synth('multi');
const gov = await synth('govcloud');

const functionLogicalId = (s: typeof example, name: string) =>
  findResource(s.json.Credentials, 'AWS::Lambda::Function', { FunctionName: `${STAGE}-${name}` })[0];

describe('Stack: Credentials', () => {
  describe('pull users', () => {
    it('creates one user per registry holding exactly core’s minimal pull policy inline', () => {
      for (const s of [example, multi, gov]) {
        const users = resourcesOfType(s.json.Credentials, 'AWS::IAM::User');
        expect(users.map(([, u]) => u.Properties['UserName']).sort()).toEqual(
          s.config.registries.map((r) => r.userName).sort(),
        );
        for (const registry of s.config.registries) {
          const [, user] = findResource(s.json.Credentials, 'AWS::IAM::User', {
            UserName: registry.userName,
          });
          expect(user.Properties).toEqual({
            UserName: registry.userName,
            Policies: [{ PolicyName: PULL_POLICY_NAME, PolicyDocument: minimalPullPolicy(registry) }],
            Tags: expect.any(Array),
          });
        }
      }
    });

    it('scopes the policy to the configured repository ARNs of the registry’s partition, region and account', () => {
      const arnsOf = (s: typeof example, registryName: string) => {
        const userName = s.config.registries.find((r) => r.name === registryName)?.userName;
        const [, user] = findResource(s.json.Credentials, 'AWS::IAM::User', { UserName: userName });
        const [policy] = user.Properties['Policies'] as {
          PolicyDocument: { Statement: { Resource: string[] }[] };
        }[];
        return policy?.PolicyDocument.Statement.flatMap((st) => st.Resource);
      };
      expect(arnsOf(example, 'prod')).toEqual([
        '*',
        `arn:aws:ecr:us-east-1:${ACCOUNT}:repository/inference`,
        `arn:aws:ecr:us-east-1:${ACCOUNT}:repository/inference-gb200`,
        `arn:aws:ecr:us-east-1:${ACCOUNT}:repository/tools`,
      ]);
      expect(arnsOf(gov, 'gov-west')).toEqual([
        '*',
        `arn:aws-us-gov:ecr:us-gov-west-1:${GOV_ACCOUNT}:repository/inference`,
      ]);
      expect(arnsOf(gov, 'gov-east')).toEqual([
        '*',
        `arn:aws-us-gov:ecr:us-gov-east-1:${GOV_ACCOUNT}:repository/inference`,
      ]);
      expect(arnsOf(multi, 'eu')).toEqual(['*', `arn:aws:ecr:eu-west-1:${ACCOUNT}:repository/inference-eu`]);
      expect(arnsOf(multi, 'partner')).toEqual([
        '*',
        `arn:aws:ecr:us-east-1:${PARTNER_ACCOUNT}:repository/models/llm`,
      ]);
      // ECR Public ARNs have no region.
      expect(arnsOf(multi, 'public')).toEqual(['*', `arn:aws:ecr-public::${ACCOUNT}:repository/tools`]);
    });

    it('keeps the users and their policy when the stack is removed, so NVCF keeps pulling', () => {
      for (const [, user] of resourcesOfType(multi.json.Credentials, 'AWS::IAM::User')) {
        expect(user.DeletionPolicy).toBe('RetainExceptOnCreate');
      }
    });

    it('never creates an access key in CloudFormation (its secret would live in the stack)', () => {
      for (const s of [example, multi, gov]) {
        for (const template of Object.values(s.json))
          expect(resourcesOfType(template, 'AWS::IAM::AccessKey')).toEqual([]);
      }
    });
  });

  describe('secrets', () => {
    it('creates one secret per registry with one constant, non-secret bootstrap value the rotation accepts', () => {
      for (const s of [example, multi]) {
        for (const registry of s.config.registries) {
          const [, secret] = findResource(s.json.Credentials, 'AWS::SecretsManager::Secret', {
            Name: registry.secretName,
          });
          // Constant: a configuration change (hostname, credential name, user) never makes CloudFormation
          // write a key-less AWSCURRENT over a live key.
          expect(secret.Properties['SecretString']).toBe(DEPLOYED_BOOTSTRAP_VALUE);
          const source = {
            step: 'createSecret',
            secretId: registry.secretName,
            version: 'AWSCURRENT',
          } as const;
          const value = parseRotatedSecret(secret.Properties['SecretString'] as string, source);
          expect(value.kind).toBe('bootstrap');
          expect(() => assertValueMatchesRegistry(value, registry, source)).not.toThrow();
          expect(secret.Properties['GenerateSecretString']).toBeUndefined();
          expect(secret.DeletionPolicy).toBe('RetainExceptOnCreate');
        }
      }
    });

    it('encrypts every secret with a customer-managed key that rotates and outlives the stack', () => {
      const keys = resourcesOfType(multi.json.Credentials, 'AWS::KMS::Key');
      expect(keys).toHaveLength(1);
      const [keyId, key] = keys[0] as [string, (typeof keys)[number][1]];
      expect(key.Properties['EnableKeyRotation']).toBe(true);
      expect(key.DeletionPolicy).toBe('RetainExceptOnCreate');
      for (const [, secret] of resourcesOfType(multi.json.Credentials, 'AWS::SecretsManager::Secret')) {
        expect(secret.Properties['KmsKeyId']).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
      }
    });

    it('creates the NGC API key secret empty: no value and no generated placeholder in the template', () => {
      const [, secret] = findResource(multi.json.Credentials, 'AWS::SecretsManager::Secret', {
        Name: 'platform/ngc-api-key',
      });
      expect(Object.keys(secret.Properties).sort()).toEqual(['Description', 'KmsKeyId', 'Name', 'Tags']);
      expect(secret.Properties['Description']).toContain('Created empty');
      expect(secret.DeletionPolicy).toBe('RetainExceptOnCreate');
    });
  });

  describe('rotation', () => {
    it('schedules every registry’s rotation from its config, with its window, rotating immediately (the bootstrap)', () => {
      for (const s of [example, multi, gov]) {
        const rotateFn = functionLogicalId(s, FUNCTIONS.rotateCredential.name);
        const schedules = resourcesOfType(s.json.Credentials, 'AWS::SecretsManager::RotationSchedule');
        expect(schedules).toHaveLength(s.config.registries.length);
        for (const registry of s.config.registries) {
          const [secretId] = findResource(s.json.Credentials, 'AWS::SecretsManager::Secret', {
            Name: registry.secretName,
          });
          const [, schedule] = findResource(s.json.Credentials, 'AWS::SecretsManager::RotationSchedule', {
            SecretId: { Ref: secretId },
          });
          expect(schedule.Properties).toEqual({
            SecretId: { Ref: secretId },
            RotationLambdaARN: { 'Fn::GetAtt': [rotateFn, 'Arn'] },
            RotationRules: {
              ScheduleExpression: registry.rotation.schedule,
              Duration: registry.rotation.window,
            },
            RotateImmediatelyOnUpdate: false,
          });
        }
      }
    });

    it('lets Secrets Manager invoke the rotation only for each secret, from this account, before its schedule exists', () => {
      const rotateFn = functionLogicalId(multi, FUNCTIONS.rotateCredential.name);
      const permissions = resourcesOfType(multi.json.Credentials, 'AWS::Lambda::Permission').filter(
        ([, p]) => p.Properties['Principal'] === 'secretsmanager.amazonaws.com',
      );
      expect(permissions).toHaveLength(multi.config.registries.length);
      for (const registry of multi.config.registries) {
        const [secretId] = findResource(multi.json.Credentials, 'AWS::SecretsManager::Secret', {
          Name: registry.secretName,
        });
        const [permissionId, permission] = findResource(multi.json.Credentials, 'AWS::Lambda::Permission', {
          SourceArn: { Ref: secretId },
        });
        expect(permission.Properties).toEqual({
          Action: 'lambda:InvokeFunction',
          FunctionName: { 'Fn::GetAtt': [rotateFn, 'Arn'] },
          Principal: 'secretsmanager.amazonaws.com',
          SourceAccount: { Ref: 'AWS::AccountId' },
          SourceArn: { Ref: secretId },
        });
        const [, schedule] = findResource(multi.json.Credentials, 'AWS::SecretsManager::RotationSchedule', {
          SecretId: { Ref: secretId },
        });
        expect([schedule.DependsOn].flat()).toContain(permissionId);
      }
    });

    it('gives the rotation at least 3 minutes: IAM propagation of the new key and NVCF’s own check take time', () => {
      const [, fn] = findResource(example.json.Credentials, 'AWS::Lambda::Function', {
        FunctionName: `${STAGE}-${FUNCTIONS.rotateCredential.name}`,
      });
      expect(fn.Properties['Timeout']).toBeGreaterThanOrEqual(180);
    });
  });

  describe('retirement', () => {
    it('runs the retirement hourly on the default bus, one run at a time', () => {
      const retireFn = functionLogicalId(example, FUNCTIONS.retireKeys.name);
      const [, rule] = findResource(example.json.Credentials, 'AWS::Events::Rule', {
        Name: `${STAGE}-${RULE_NAMES.retireSchedule}`,
      });
      expect(RETIRE_SCHEDULE).toBe('rate(1 hour)');
      expect(rule.Properties['ScheduleExpression']).toBe(RETIRE_SCHEDULE);
      expect(rule.Properties['EventBusName']).toBeUndefined();
      expect(rule.Properties['Targets']).toEqual([
        expect.objectContaining({ Arn: { 'Fn::GetAtt': [retireFn, 'Arn'] } }),
      ]);
      const [, fn] = findResource(example.json.Credentials, 'AWS::Lambda::Function', {
        FunctionName: `${STAGE}-${FUNCTIONS.retireKeys.name}`,
      });
      expect(fn.Properties['ReservedConcurrentExecutions']).toBe(1);
    });
  });

  describe('partitions', () => {
    it('rejects a configuration whose registries span partitions, naming the registry and the fix', async () => {
      await expectRejection(
        () => synth('mixedPartitions'),
        ConfigError,
        'registries[1].hostname',
        'is in partition aws-us-gov but the stacks deploy to us-east-1 (aws)',
        'deploy this registry from its own configuration to a region of aws-us-gov',
      );
    });
  });
});

describe('Stack: Credentials — the rotation’s tags', () => {
  it('denies every principal but the rotation role the nvcf-ecr: tags of each pull-key secret; operators only the force tag', () => {
    for (const s of [example, multi]) {
      const policies = resourcesOfType(s.json.Credentials, 'AWS::SecretsManager::ResourcePolicy');
      expect(policies).toHaveLength(s.config.registries.length);
      for (const [, policy] of policies) {
        const statements = (policy.Properties['ResourcePolicy'] as { Statement: Record<string, unknown>[] })
          .Statement;
        const bySid = Object.fromEntries(statements.map((st) => [st['Sid'], st]));
        const everyone = bySid['OnlyTheRotationAndOperatorsTouchRotationTags'];
        expect(everyone).toMatchObject({
          Effect: 'Deny',
          Principal: { AWS: '*' },
          Action: ['secretsmanager:TagResource', 'secretsmanager:UntagResource'],
          Condition: {
            'ForAnyValue:StringLike': { 'aws:TagKeys': ['nvcf-ecr:*'] },
            ArnNotEquals: { 'aws:PrincipalArn': expect.anything() },
            StringNotEquals: { 'aws:PrincipalTag/nvcf-ecr-operator': 'true' },
          },
        });
        const records = bySid['OnlyTheRotationWritesItsRecords'] as {
          Condition: Record<string, Record<string, string[]>>;
        };
        expect(records).toMatchObject({ Effect: 'Deny', Principal: { AWS: '*' } });
        const keys = records.Condition['ForAnyValue:StringLike']?.['aws:TagKeys'];
        // The markers, and the key id of every version (which the retirement trusts to tell the current key).
        expect(keys).toEqual(
          expect.arrayContaining(['nvcf-ecr:key-intent', 'nvcf-ecr:nvcf-key', 'nvcf-ecr:version:*']),
        );
        expect(keys).not.toContain('nvcf-ecr:force-rotation');
      }
    }
  });
});
