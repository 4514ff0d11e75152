import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@nvcf-ecr/core/errors';
import { describe, expect, it } from 'vitest';
import { synthesize } from '../../stacks/lib/synth.ts';
import { ACCOUNT } from './configs.ts';
import { type CfnTemplate, resourcesOfType, STACK_IDS, type Synthesized, synth } from './synth.ts';

// What a real CloudFormation deploy, update and teardown meet: a failed first deploy that must be retried, a
// schedule change on a live stack, the order stacks deploy in, and configurations with only one kind of
// registry.

const example = await synth('example');
const multi = await synth('multi');
const publicOnly = await synth('publicOnly');
const all = { example, multi, publicOnly };
const changed = await synth('exampleChanged');
const [dev, prod] = await Promise.all([synth('example', 'dev'), synth('example', 'prod')]);

describe('Deploy lifecycle', () => {
  it('never plainly retains a resource: a rolled-back first deploy leaves nothing behind to block the retry', () => {
    for (const [name, s] of Object.entries(all)) {
      for (const id of STACK_IDS) {
        for (const [logicalId, resource] of Object.entries(s.json[id].Resources)) {
          // Plain Retain also applies when CloudFormation rolls back a failed create: the retry then fails with
          // "already exists". RetainExceptOnCreate deletes what the failed create made.
          expect
            .soft(resource.DeletionPolicy ?? 'Delete', `${name} ${id} ${logicalId}`)
            .toMatch(/^(RetainExceptOnCreate|Delete)$/);
        }
      }
    }
  });

  it('keeps on removal what NVCF depends on and what cannot be recreated', () => {
    const kept = (t: CfnTemplate, type: string) => resourcesOfType(t, type).map(([, r]) => r.DeletionPolicy);
    for (const s of Object.values(all)) {
      for (const type of ['AWS::IAM::User', 'AWS::SecretsManager::Secret', 'AWS::KMS::Key']) {
        const policies = kept(s.json.Credentials, type);
        expect(policies.length).toBeGreaterThan(0);
        expect(new Set(policies)).toEqual(new Set(['RetainExceptOnCreate']));
      }
      expect(kept(s.json.Audit, 'AWS::S3::Bucket')).toEqual(['RetainExceptOnCreate']);
    }
  });

  it('never rotates on a deploy: each schedule only has Secrets Manager test the function', () => {
    for (const s of Object.values(all)) {
      const schedules = resourcesOfType(s.json.Credentials, 'AWS::SecretsManager::RotationSchedule');
      expect(schedules).toHaveLength(s.config.registries.length);
      for (const [, schedule] of schedules) {
        expect(schedule.Properties['RotateImmediatelyOnUpdate']).toBe(false);
      }
    }
  });

  it('deploys Credentials after Notifications, so the first rotation outcome is heard', () => {
    for (const s of Object.values(all)) {
      expect(s.dependencies.Credentials).toContain('Notifications');
      expect(s.dependencies.Notifications).toContain('Validation');
      expect(s.dependencies.Audit).toContain('Credentials');
    }
  });

  describe('configurations with one kind of registry', () => {
    const statementsOf = (t: CfnTemplate) =>
      resourcesOfType(t, 'AWS::IAM::Role').flatMap(([, role]) =>
        (
          (role.Properties['Policies'] ?? []) as {
            PolicyDocument: { Statement: { Sid?: string; Resource?: unknown }[] };
          }[]
        ).flatMap((p) => p.PolicyDocument.Statement),
      );

    it('gives every IAM statement at least one resource (IAM refuses one without)', () => {
      for (const s of Object.values(all)) {
        for (const id of STACK_IDS) {
          for (const statement of statementsOf(s.json[id])) {
            const resources = [statement.Resource ?? []].flat();
            expect(resources.length, `${id} ${statement.Sid ?? ''}`).toBeGreaterThan(0);
          }
        }
      }
    });

    it('deploys push validation only where there are private repositories to validate', () => {
      const functions = (t: CfnTemplate) =>
        resourcesOfType(t, 'AWS::Lambda::Function').map(([, f]) => f.Properties['FunctionName']);
      const rules = (t: CfnTemplate) => resourcesOfType(t, 'AWS::Events::Rule').map(([id]) => id);
      expect(functions(publicOnly.json.Validation)).toEqual([]);
      expect(rules(publicOnly.json.Validation)).toEqual([]);
      expect(functions(example.json.Validation)).toEqual(['test-nvcf-ecr-validate-push']);
      expect(rules(example.json.Validation)).toHaveLength(1);
      // The public registry still gets its pull user, secret, rotation and audit.
      expect(resourcesOfType(publicOnly.json.Credentials, 'AWS::IAM::User')).toHaveLength(1);
      expect(resourcesOfType(publicOnly.json.Audit, 'AWS::Lambda::Function')).toHaveLength(1);
    });
  });

  describe('a second stage of one configuration', () => {
    const named = (s: Synthesized) => ({
      users: resourcesOfType(s.json.Credentials, 'AWS::IAM::User').map(([, u]) => u.Properties['UserName']),
      secrets: resourcesOfType(s.json.Credentials, 'AWS::SecretsManager::Secret').map(
        ([, x]) => x.Properties['Name'],
      ),
    });

    it('shares no IAM user and no secret name with the first, in one account and region', () => {
      const [d, p] = [named(dev), named(prod)];
      expect(d.users).toHaveLength(1);
      expect(d.secrets).toHaveLength(2);
      expect(d.users.filter((u) => p.users.includes(u))).toEqual([]);
      expect(d.secrets.filter((x) => p.secrets.includes(x))).toEqual([]);
      expect(p).toEqual({
        users: ['nvcf-ecr-prod-us-east-1-prod'],
        secrets: expect.arrayContaining(['nvcf-ecr/prod/ngc-api-key', 'nvcf-ecr/prod/prod/pull-key']),
      });
    });

    it('gives each function role a fixed name of its stage and region, for repository policies to name', () => {
      const roles = (s: Synthesized) =>
        STACK_IDS.flatMap((id) =>
          resourcesOfType(s.json[id], 'AWS::IAM::Role').map(([, r]) => r.Properties['RoleName']),
        ).sort();
      expect(roles(prod)).toEqual(
        ['audit', 'retire-keys', 'rotate-credential', 'validate-push'].map(
          (f) => `prod-nvcf-ecr-${f}-us-east-1`,
        ),
      );
      expect(roles(dev).filter((r) => roles(prod).includes(r))).toEqual([]);
    });

    it('keeps names the configuration gives', () => {
      expect(named(changed)).toEqual({
        users: expect.arrayContaining(['nvcf-production-puller', 'nvcf-ecr-test-us-east-1-staging']),
        secrets: expect.arrayContaining(['platform/ngc-api-key', 'platform/production/pull-key']),
      });
    });

    it('refuses, naming the field and the fix, a name that collides within the deployment', async () => {
      const outdir = await mkdtemp(join(tmpdir(), 'nvcf-ecr-collision-'));
      try {
        const err = await synthesize({
          stage: 'dev',
          outdir,
          bundle: false,
          config: {
            ngc: {},
            registries: ['a', 'b'].map((name) => ({
              name,
              hostname: `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com`,
              repositories: [`inference-${name}`],
              credentialName: `ecr-${name}`,
              // b names a's default user of stage dev.
              ...(name === 'b' ? { userName: 'nvcf-ecr-dev-us-east-1-a' } : {}),
            })),
          },
        }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ConfigError);
        expect((err as Error).message).toContain(
          "registries[1].userName: pull user 'nvcf-ecr-dev-us-east-1-a' is also registries[0]'s: give each registry its own userName",
        );
      } finally {
        await rm(outdir, { recursive: true, force: true });
      }
    });
  });

  it('imports no value that changes with the configuration from another stack', () => {
    // Every import, with the value its export holds. CloudFormation refuses to change or delete an export in use
    // ("Export … cannot be updated as it is in use"): what stacks import must be the same whatever the
    // registries, users and secret names are.
    const imports = (s: Synthesized) => {
      const exported = new Map<string, string>();
      for (const id of STACK_IDS) {
        for (const output of Object.values(s.json[id].Outputs ?? {}))
          if (output.Export) exported.set(output.Export.Name, JSON.stringify(output.Value));
      }
      const found = new Map<string, string | undefined>();
      const walk = (value: unknown): void => {
        if (Array.isArray(value)) value.forEach(walk);
        else if (value !== null && typeof value === 'object') {
          const v = value as Record<string, unknown>;
          if (typeof v['Fn::ImportValue'] === 'string') {
            const name = v['Fn::ImportValue'];
            found.set(name, exported.get(name));
          } else Object.values(v).forEach(walk);
        }
      };
      for (const id of STACK_IDS) walk(s.json[id].Resources);
      return Object.fromEntries([...found].sort());
    };
    const base = imports(example);
    expect(Object.keys(base).length).toBeGreaterThan(0);
    for (const value of Object.values(base)) expect(value).toBeDefined();
    // Only the project bus and the dead-letter queues, whose names and ids no configuration changes.
    for (const name of Object.keys(base)) expect(name).toMatch(/^test-nvcf-ecr-Validation:/);
    expect(imports(changed)).toEqual(base);
    expect(imports(multi)).toEqual(base);
  });
});
