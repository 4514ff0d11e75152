import { FUNCTIONS, type FunctionKey } from '@nvcf-ecr/core/events';
import { describe, expect, it } from 'vitest';
import { Resolver, roleOf, SECRET_SUFFIX } from './resolve.ts';
import { STAGE, type Synthesized, synth } from './synth.ts';

// Who can read a pull key, as the synthesised templates say it (least privilege is simulated in
// permissions.test.ts; this pins the statements themselves). The retirement and the audit learn which key is
// current from the secret's stages and the key ids the rotation records in its tags: no GetSecretValue on a
// pull-key secret, no KMS decryption of one. The rotation writes only the secrets whose rotation names it, and
// every KMS statement names the secrets it may be used for (Secrets Manager's encryption context).

interface Statement {
  Sid: string;
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, unknown>>;
}

function statementsOf(s: Synthesized, key: FunctionKey): Statement[] {
  const role = roleOf(s, key, new Resolver(s));
  return role.policies.flatMap((p) => p.document['Statement'] as Statement[]);
}

const list = (v: unknown) => [v].flat() as string[];

/** The pull-key secrets' ARNs as CloudFormation resolves them (the Audit stack names them by pattern). */
function pullKeySecrets(s: Synthesized): { arns: string[]; patterns: string[] } {
  const base = `arn:${s.partition}:secretsmanager:${s.region}:${s.account}:secret:`;
  return {
    arns: s.config.registries.map((r) => `${base}${r.secretName}-${SECRET_SUFFIX}`),
    patterns: s.config.registries.map((r) => `${base}${r.secretName}-??????`),
  };
}

describe.each(['multi', 'govcloud'] as const)('Pull-key secret access in the %s templates', (name) => {
  const ready = synth(name);

  it.each(['retireKeys', 'audit'] as const)(
    'grants %s no GetSecretValue on any pull-key secret',
    async (key) => {
      const s = await ready;
      const { arns, patterns } = pullKeySecrets(s);
      const readers = statementsOf(s, key).filter((st) =>
        list(st.Action).some((a) => a === 'secretsmanager:GetSecretValue' || a === 'secretsmanager:*'),
      );
      expect(readers.length).toBeGreaterThan(0); // the NGC API key, which it does read
      for (const st of readers) {
        for (const resource of list(st.Resource)) {
          expect([...arns, ...patterns]).not.toContain(resource);
          expect(resource).toContain(s.config.ngc.apiKeySecretName);
        }
      }
    },
  );

  it.each(['retireKeys', 'audit'] as const)('lets %s decrypt the NGC API key secret only', async (key) => {
    const s = await ready;
    const kms = statementsOf(s, key).filter((st) => list(st.Action).some((a) => a.startsWith('kms:')));
    expect(kms.map((st) => list(st.Action))).toEqual([['kms:Decrypt']]);
    const named = list(kms[0]?.Condition?.['StringLike']?.['kms:EncryptionContext:SecretARN']);
    expect(named).toHaveLength(1);
    expect(named[0]).toContain(`:secret:${s.config.ngc.apiKeySecretName}-`);
  });

  it('lets the rotation write only the secrets whose rotation configuration names it', async () => {
    const s = await ready;
    const fn = `arn:${s.partition}:lambda:${s.region}:${s.account}:function:${STAGE}-${FUNCTIONS.rotateCredential.name}`;
    const writers = statementsOf(s, 'rotateCredential').filter((st) =>
      list(st.Action).some(
        (a) => a === 'secretsmanager:PutSecretValue' || a === 'secretsmanager:UpdateSecretVersionStage',
      ),
    );
    expect(writers).toHaveLength(1);
    expect(writers[0]?.Condition).toEqual({
      ArnEquals: { 'secretsmanager:resource/AllowRotationLambdaArn': fn },
    });
    expect(list(writers[0]?.Resource).sort()).toEqual(pullKeySecrets(s).arns.sort());
  });

  it.each(Object.keys(FUNCTIONS) as FunctionKey[])(
    'names in every KMS statement of %s the secrets it may be used for, through Secrets Manager only',
    async (key) => {
      const s = await ready;
      for (const st of statementsOf(s, key).filter((x) => list(x.Action).some((a) => a.startsWith('kms:')))) {
        expect(st.Condition?.['StringEquals']?.['kms:ViaService']).toBe(
          `secretsmanager.${s.region}.amazonaws.com`,
        );
        const secrets = list(st.Condition?.['StringLike']?.['kms:EncryptionContext:SecretARN']);
        expect(secrets.length).toBeGreaterThan(0);
        for (const arn of secrets)
          expect(arn).toMatch(/^arn:aws(-us-gov)?:secretsmanager:[^:]+:\d{12}:secret:.+-/);
      }
    },
  );
});
