import { describe, expect, it } from 'vitest';
import { type CfnTemplate, resourcesOfType, STACK_IDS, synth } from './synth.ts';

// What a real CloudFormation deploy, update and teardown meet: a failed first deploy that must be retried, a
// schedule change on a live stack, the order stacks deploy in, and configurations with only one kind of
// registry.

const example = await synth('example');
const multi = await synth('multi');
const publicOnly = await synth('publicOnly');
const all = { example, multi, publicOnly };

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
});
