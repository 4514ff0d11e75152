import { redact, redactString } from '@nvcf-ecr/core/redact';
import { DEPLOYED_BOOTSTRAP_VALUE } from '@nvcf-ecr/core/rotation';
import { describe, expect, it } from 'vitest';
import { resourcesOfType, STACK_IDS, synth } from './synth.ts';

// Policy checks over every stack of every configuration: cdk-nag's AwsSolutions pack (no unsuppressed error or
// warning, every suppression with its reason and, for wildcard findings, the exact resource it covers), and
// invariant 5 (packages/core/src/rotation/README.md, "Invariants") for the infrastructure: no secret value, or
// anything shaped like one, in any template.

const names = ['example', 'multi', 'govcloud'] as const;
const synthesized = await Promise.all(names.map((n) => synth(n)));

interface Suppression {
  readonly id: string;
  readonly reason: string;
  readonly applies_to?: unknown[];
}

describe.each(names.map((n, i) => [n, synthesized[i]] as const))(
  'cdk-nag AwsSolutions: %s configuration',
  (_, s) => {
    it('reports no unsuppressed error or warning in any stack', () => {
      for (const stack of STACK_IDS) {
        const findings = (s?.messages[stack] ?? []).filter(
          (m) => m.level !== 'info' && m.text.startsWith('AwsSolutions-'),
        );
        expect(findings, stack).toEqual([]);
      }
    });

    it('gives every suppression a reason, and scopes wildcard suppressions to named resources', () => {
      let count = 0;
      for (const stack of STACK_IDS) {
        for (const [, resource] of Object.entries(s?.json[stack].Resources ?? {})) {
          const suppressions =
            (resource.Metadata?.['cdk_nag'] as { rules_to_suppress?: Suppression[] } | undefined)
              ?.rules_to_suppress ?? [];
          for (const sup of suppressions) {
            count++;
            expect(sup.id).toMatch(/^AwsSolutions-[A-Z]+\d+$/);
            expect(sup.reason.length, `${sup.id}: ${sup.reason}`).toBeGreaterThanOrEqual(60);
            if (sup.id === 'AwsSolutions-IAM5') {
              expect(
                sup.applies_to?.length,
                'IAM5 suppressions must name the resources they cover',
              ).toBeGreaterThan(0);
              for (const finding of sup.applies_to ?? []) expect(finding).toMatch(/^Resource::.*\*/);
            }
          }
        }
      }
      expect(count).toBeGreaterThan(0);
    });

    it('suppresses nothing on the functions’ roles but named wildcard resources', () => {
      for (const stack of STACK_IDS) {
        for (const [, role] of resourcesOfType(s?.json[stack] ?? { Resources: {} }, 'AWS::IAM::Role')) {
          const ids = (
            (role.Metadata?.['cdk_nag'] as { rules_to_suppress?: Suppression[] } | undefined)
              ?.rules_to_suppress ?? []
          ).map((x) => x.id);
          for (const id of ids) expect(id).toBe('AwsSolutions-IAM5');
        }
      }
    });
  },
);

describe.each(names.map((n, i) => [n, synthesized[i]] as const))(
  'Templates of the %s configuration',
  (_, s) => {
    it('contain nothing secret-shaped (access keys, secret keys, NGC keys, encoded credentials, tokens)', () => {
      for (const stack of STACK_IDS) {
        const text = JSON.stringify(s?.json[stack]);
        // redactString rewrites every secret-shaped substring; an unchanged text has none.
        expect(redactString(text), stack).toBe(text);
      }
    });

    it('store no secret value: the only secret strings are the non-secret bootstraps, nothing is generated', () => {
      for (const stack of STACK_IDS) {
        for (const [id, secret] of resourcesOfType(
          s?.json[stack] ?? { Resources: {} },
          'AWS::SecretsManager::Secret',
        )) {
          expect(secret.Properties['GenerateSecretString'], id).toBeUndefined();
          const value = secret.Properties['SecretString'];
          if (value === undefined) continue;
          expect(value, id).toBe(DEPLOYED_BOOTSTRAP_VALUE);
          expect(Object.keys(JSON.parse(value as string)), id).toEqual(['bootstrap']);
        }
      }
    });

    it('give the functions no secret through their environment: names only, no dynamic references', () => {
      for (const stack of STACK_IDS) {
        for (const [id, fn] of resourcesOfType(
          s?.json[stack] ?? { Resources: {} },
          'AWS::Lambda::Function',
        )) {
          const variables = (fn.Properties['Environment'] as { Variables: Record<string, unknown> })
            .Variables;
          const text = JSON.stringify(variables);
          expect(text, id).not.toContain('{{resolve:');
          for (const name of Object.keys(variables))
            expect(name, id).not.toMatch(/SECRET|PASSWORD|TOKEN|API_?KEY/i);
          const config = JSON.parse(variables['NVCF_ECR_CONFIG'] as string) as unknown;
          // redact() replaces the value of every secret-named key; an unchanged configuration has none.
          expect(redact(config), id).toEqual(config);
        }
      }
    });

    it('reference a secret value dynamically only where a webhook needs it, naming a configured webhook secret', () => {
      // A dynamic reference is resolved by CloudFormation at deploy time: the template holds the secret's
      // name, never its value. Only a webhook connection's API-key value and a webhook endpoint whose URL
      // is its own credential may hold one (stacks/lib/webhooks.ts).
      const webhookSecrets = new Set(
        (s?.config.notifications.webhooks ?? []).flatMap((w) => (w.secretName ? [w.secretName] : [])),
      );
      for (const stack of STACK_IDS) {
        const resources = s?.json[stack].Resources ?? {};
        for (const [id, resource] of Object.entries(resources)) {
          const text = JSON.stringify(resource.Properties);
          const refs = [...text.matchAll(/\{\{resolve:secretsmanager:([^:}]+)/g)].map((m) => m[1]);
          if (refs.length === 0) continue;
          expect(['AWS::Events::Connection', 'AWS::Events::ApiDestination'], id).toContain(resource.Type);
          for (const name of refs) expect(webhookSecrets.has(name ?? ''), `${id}: ${name}`).toBe(true);
          const at =
            resource.Type === 'AWS::Events::Connection'
              ? JSON.stringify(resource.Properties['AuthParameters'])
              : JSON.stringify(resource.Properties['InvocationEndpoint']);
          expect(at.match(/\{\{resolve:/g)?.length, id).toBe(refs.length);
        }
      }
    });
  },
);
