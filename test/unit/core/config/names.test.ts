import {
  assertConfig,
  ConfigError,
  type ConfigInput,
  defaultNgcSecretName,
  defaultSecretName,
  defaultUserName,
  forDeployment,
  parseConfig,
} from '@nvcf-ecr/core/config';
import { describe, expect, it } from 'vitest';

// The names a deployment gives what the configuration leaves unnamed: two stages (or two regions) of one
// configuration never claim one IAM user or secret; names the configuration gives stay as given.

const HOST = '123456789012.dkr.ecr.us-east-1.amazonaws.com';

function config(extra: Partial<ConfigInput> = {}, registries: Record<string, unknown>[] = [{}]) {
  return assertConfig({
    ngc: {},
    registries: registries.map((r, i) => ({
      name: `reg${i}`,
      hostname: HOST,
      repositories: ['inference'],
      credentialName: `ecr-${i}`,
      ...r,
    })),
    ...extra,
  });
}

const names = (c: ReturnType<typeof config>) => [
  c.ngc.apiKeySecretName,
  ...c.registries.flatMap((r) => [r.userName, r.secretName]),
];

describe('Function: forDeployment', () => {
  it('gives unnamed resources their stage’s names, and the region too where IAM names are account-wide', () => {
    const c = forDeployment(config(), { stage: 'prod', region: 'us-east-1' });
    expect(names(c)).toEqual([
      'nvcf-ecr/prod/ngc-api-key',
      'nvcf-ecr-prod-us-east-1-reg0',
      'nvcf-ecr/prod/reg0/pull-key',
    ]);
    expect(c.deployment).toEqual({ stage: 'prod', region: 'us-east-1' });
  });

  it('lets no two stages, nor two regions of one stage, share a user or a secret', () => {
    const at = [
      { stage: 'dev', region: 'us-east-1' },
      { stage: 'prod', region: 'us-east-1' },
    ];
    const [dev, prod] = at.map((a) => names(forDeployment(config(), a)));
    expect(dev?.filter((n) => prod?.includes(n))).toEqual([]);
    const users = (region: string) =>
      forDeployment(config(), { stage: 'prod', region }).registries.map((r) => r.userName);
    expect(users('us-east-1')).not.toEqual(users('eu-west-1'));
  });

  it('keeps the names the configuration gives, in every stage', () => {
    const given = config({ ngc: { apiKeySecretName: 'platform/ngc' } }, [
      { userName: 'nvcf-puller', secretName: 'platform/pull-key' },
    ]);
    for (const stage of ['dev', 'prod'])
      expect(names(forDeployment(given, { stage, region: 'us-east-1' }))).toEqual([
        'platform/ngc',
        'nvcf-puller',
        'platform/pull-key',
      ]);
  });

  it('refuses a default user name longer than IAM’s 64 characters, saying what to set', () => {
    const long = config({}, [{ name: 'a-rather-long-registry-name-for-testing' }]);
    let error: unknown;
    try {
      forDeployment(long, { stage: 'integration-tests', region: 'ap-southeast-2' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues).toEqual([
      {
        path: 'registries[0].userName',
        message: expect.stringMatching(
          /^the default pull user name 'nvcf-ecr-integration-tests-ap-southeast-2-a-rather-long-registry-name-for-testing' is \d+ characters, more than IAM's 64 .*: set userName, or use a shorter stage or registry name$/,
        ),
      },
    ]);
  });

  it('keeps the stage-less names outside a deployment (the sandbox’s, and the CLI’s without --stage)', () => {
    expect(names(config())).toEqual([
      defaultNgcSecretName(),
      defaultUserName('reg0'),
      defaultSecretName('reg0'),
    ]);
    expect(names(config())).toEqual(['nvcf-ecr/ngc-api-key', 'nvcf-ecr-reg0', 'nvcf-ecr/reg0/pull-key']);
  });
});

describe('Function: parseConfig (names one deployment cannot create)', () => {
  it('refuses two registries naming the same user or secret, and a registry secret that is the NGC key’s', () => {
    const r = parseConfig({
      ngc: { apiKeySecretName: 'shared' },
      registries: [
        {
          name: 'a',
          hostname: HOST,
          repositories: ['inference'],
          credentialName: 'a',
          userName: 'u',
          secretName: 's',
        },
        {
          name: 'b',
          hostname: HOST,
          repositories: ['inference'],
          credentialName: 'b',
          userName: 'u',
          secretName: 's',
        },
        { name: 'c', hostname: HOST, repositories: ['inference'], credentialName: 'c', secretName: 'shared' },
      ],
    });
    expect(r).toEqual({
      ok: false,
      issues: [
        {
          path: 'registries[1].userName',
          message:
            "pull user 'u' is also registries[0]'s: give each registry its own userName (or leave it out for the default)",
        },
        {
          path: 'registries[1].secretName',
          message:
            "secret 's' is also registries[0].secretName: give each registry its own secretName (or leave it out for the default)",
        },
        {
          path: 'registries[2].secretName',
          message:
            "secret 'shared' is also ngc.apiKeySecretName: give each registry its own secretName (or leave it out for the default)",
        },
      ],
    });
  });

  it('refuses a given name that collides with another registry’s default of the same deployment', () => {
    const c = config({}, [{}, { userName: 'nvcf-ecr-prod-us-east-1-reg0' }]);
    expect(() => forDeployment(c, { stage: 'prod', region: 'us-east-1' })).toThrow(
      "registries[1].userName: pull user 'nvcf-ecr-prod-us-east-1-reg0' is also registries[0]'s",
    );
  });
});
