import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  assertConfig,
  type ConfigInput,
  DEFAULT_GRACE_HOURS,
  DEFAULT_MAX_KEY_AGE_DAYS,
  DEFAULT_NGC_BASE_URL,
  DEFAULT_ROTATION_SCHEDULE,
  defineConfig,
  forDeployment,
  loadConfig,
  parseConfig,
  serializeConfig,
} from '@nvcf-ecr/core/config';
import { ConfigError } from '@nvcf-ecr/core/errors';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectRejection, expectThrow } from '../expect-error.ts';

const HOST = '123456789012.dkr.ecr.us-east-1.amazonaws.com';

/** The smallest valid configuration, with `registry` merged into its only registry. */
function minimal(registry: Record<string, unknown> = {}): ConfigInput {
  return {
    ngc: { apiKeySecretName: 'nvcf-ecr/ngc-api-key' },
    registries: [
      {
        name: 'prod',
        hostname: HOST,
        repositories: ['inference'],
        credentialName: 'ecr-prod',
        ...registry,
      } as ConfigInput['registries'][number],
    ],
  };
}

function issuesOf(raw: unknown) {
  const r = parseConfig(raw);
  if (r.ok) throw new Error('expected the configuration to be refused');
  return r.issues;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nvcf-ecr-config-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('Function: loadConfig', () => {
  it('loads the example nvcf-ecr.config.ts with what the hostname implies filled in', async () => {
    const config = await loadConfig('nvcf-ecr.config.ts');
    expect(config.ngc).toEqual({
      apiKeySecretName: 'nvcf-ecr/ngc-api-key',
      baseUrl: 'https://api.ngc.nvidia.com',
    });
    const [prod] = config.registries;
    expect(prod).toMatchObject({
      name: 'prod',
      kind: 'private',
      accountId: '123456789012',
      region: 'us-east-1',
      partition: 'aws',
      userName: 'nvcf-ecr-prod',
      secretName: 'nvcf-ecr/prod/pull-key',
      repositories: ['inference', 'inference-gb200', 'tools'],
      credentialName: 'ecr-prod',
    });
    expect(prod?.platforms.repositories['inference-gb200']).toEqual(['linux/amd64', 'linux/arm64']);
  });

  it('loads a .mjs file with a default export', async () => {
    const file = join(dir, 'default-export.mjs');
    await writeFile(file, `export default ${JSON.stringify(minimal())};\n`);
    expect((await loadConfig(file)).registries[0]?.hostname).toBe(HOST);
  });

  it('loads a .mjs file with a named config export', async () => {
    const file = join(dir, 'named-export.mjs');
    await writeFile(file, `export const config = ${JSON.stringify(minimal({ name: 'named' }))};\n`);
    expect((await loadConfig(file)).registries[0]?.name).toBe('named');
  });

  it('loads a .json file', async () => {
    const file = join(dir, 'config.json');
    await writeFile(file, JSON.stringify(minimal({ name: 'from-json' })));
    expect((await loadConfig(file)).registries[0]?.name).toBe('from-json');
  });

  it('refuses a missing file and says how to make one', async () => {
    const file = join(dir, 'missing.json');
    const err = await expectRejection(
      () => loadConfig(file),
      ConfigError,
      `file not found: ${file}`,
      'nvcf-ecr init',
    );
    expect(err.source).toBe(file);
  });

  it('refuses a missing .mjs file without trying to import it', async () => {
    await expectRejection(() => loadConfig(join(dir, 'missing.mjs')), ConfigError, 'file not found');
  });

  it('refuses bad JSON, naming the file', async () => {
    const file = join(dir, 'bad.json');
    await writeFile(file, '{ "ngc": ');
    await expectRejection(
      () => loadConfig(file),
      ConfigError,
      `Invalid configuration in ${file}`,
      'is not valid JSON',
    );
  });

  it('refuses a module that exports no configuration', async () => {
    const file = join(dir, 'no-export.mjs');
    await writeFile(file, 'export const somethingElse = 1;\n');
    await expectRejection(
      () => loadConfig(file),
      ConfigError,
      'exports no configuration',
      'export default defineConfig',
    );
  });

  it('refuses a module that fails to load', async () => {
    const file = join(dir, 'throws.mjs');
    await writeFile(file, "throw new Error('boom');\n");
    await expectRejection(() => loadConfig(file), ConfigError, 'could not be loaded: boom');
  });

  it.each(['config.yaml', 'config'])('refuses the unsupported file %s', async (name) => {
    await expectRejection(
      () => loadConfig(join(dir, name)),
      ConfigError,
      'unsupported file type',
      'use .ts, .mjs or .json',
    );
  });

  it('refuses an invalid configuration file with every problem', async () => {
    const file = join(dir, 'invalid.json');
    await writeFile(file, JSON.stringify(minimal({ credentialName: '-x', repositories: ['App'] })));
    const err = await expectRejection(() => loadConfig(file), ConfigError, '(2 problems)');
    expect(err.issues.map((i) => i.path)).toEqual([
      'registries[0].repositories[0]',
      'registries[0].credentialName',
    ]);
  });
});

describe('Function: parseConfig', () => {
  it('reports every problem of a faulty configuration with its path and fix', () => {
    const issues = issuesOf({
      ngc: { apiKeySecretName: 'bad name!', baseUrl: 'https://api.ngc.nvidia.com/' },
      registries: [
        {
          name: 'Prod',
          hostname: '123456789012.dkr.ecr-fips.us-east-1.amazonaws.com',
          repositories: ['App', 'ok', 'ok'],
          credentialName: '-bad',
          rotation: { schedule: 'rate(2 hours)', graceHours: 0 },
          extra: 1,
        },
        { name: 'pub', hostname: 'public.ecr.aws', repositories: ['tools'], credentialName: 'x'.repeat(49) },
      ],
      audit: { maxKeyAgeDays: 0 },
      typo: true,
    });
    expect(issues).toEqual([
      {
        path: 'ngc.apiKeySecretName',
        message: 'Secrets Manager names are 1–512 of letters, digits and /_+=.@-',
      },
      {
        path: 'ngc.baseUrl',
        message: "must be an http(s) URL without a trailing '/', e.g. 'https://api.ngc.nvidia.com'",
      },
      { path: 'registries[0].name', message: "must be lower-case letters, digits and '-', e.g. 'prod-ecr'" },
      {
        path: 'registries[0].hostname',
        message:
          "NVCF recognises only the standard form <account>.dkr.ecr.<region>.amazonaws.com; the FIPS hostname '123456789012.dkr.ecr-fips.us-east-1.amazonaws.com' " +
          `is refused with 400 "CONTAINER registry with hostname ... is not yet recognized" (use '${HOST}')`,
      },
      { path: 'registries[0].repositories[0]', message: "repository 'App' must be lower case (use 'app')" },
      { path: 'registries[0].repositories[2]', message: "repository 'ok' is listed twice" },
      {
        path: 'registries[0].credentialName',
        message:
          "NVCF credential names start with a letter or digit and contain only letters, digits, '_', '.' and '-'",
      },
      {
        path: 'registries[0].rotation.schedule',
        message: 'Secrets Manager rotates at most every 4 hours: use at least rate(4 hours)',
      },
      {
        path: 'registries[0].rotation.graceHours',
        message: 'must be at least 1 hour: NVCF caches credentials for minutes',
      },
      {
        path: 'registries[0]',
        message: "unknown key 'extra': check the spelling against the configuration reference in README.md",
      },
      { path: 'registries[1].credentialName', message: 'NVCF credential names are at most 48 characters' },
      { path: 'audit.maxKeyAgeDays', message: 'must be at least 1 day' },
      {
        path: '',
        message: "unknown key 'typo': check the spelling against the configuration reference in README.md",
      },
      {
        path: 'registries[1].accountId',
        message: 'ECR Public registries need the owner account: set accountId to its 12-digit id',
      },
    ]);
  });

  it.each([
    [null, [{ path: '', message: 'must be an object, not null' }]],
    [[], [{ path: '', message: 'must be an object, not an array' }]],
    [
      {},
      [
        { path: 'ngc', message: 'is required (an object)' },
        { path: 'registries', message: 'is required (an array)' },
      ],
    ],
    [
      { ngc: { apiKeySecretName: 'n' }, registries: [null] },
      [{ path: 'registries[0]', message: 'must be an object, not null' }],
    ],
  ])('reports the wrong type of %j without throwing', (raw, want) => {
    expect(issuesOf(raw)).toEqual(want);
  });

  it('fills in the defaults', () => {
    const r = parseConfig(minimal());
    if (!r.ok) throw new Error(JSON.stringify(r.issues));
    const [reg] = r.value.registries;
    expect(reg?.rotation).toMatchObject({
      schedule: 'rate(30 days)',
      graceHours: 24,
      window: '3h',
      retire: { whenInUse: 'postpone', maxPostponeHours: 72 },
    });
    expect(reg?.platforms).toEqual({ require: ['linux/amd64'], repositories: {} });
    expect(r.value.audit).toMatchObject({ maxKeyAgeDays: 90, schedule: 'rate(1 day)', exemptions: [] });
    expect(r.value.ngc.baseUrl).toBe('https://api.ngc.nvidia.com');
    expect(r.value.notifications).toEqual({ email: [], webhooks: [] });
    expect([
      DEFAULT_ROTATION_SCHEDULE,
      DEFAULT_GRACE_HOURS,
      DEFAULT_MAX_KEY_AGE_DAYS,
      DEFAULT_NGC_BASE_URL,
    ]).toEqual(['rate(30 days)', 24, 90, 'https://api.ngc.nvidia.com']);
  });

  it('writes platforms in canonical form', () => {
    const r = parseConfig(minimal({ platforms: { require: ['linux/x86_64', 'linux/aarch64'] } }));
    expect(r.ok && r.value.registries[0]?.platforms.require).toEqual(['linux/amd64', 'linux/arm64']);
  });

  it.each([
    ['123456789012.dkr.ecr-fips.us-east-1.amazonaws.com', 'FIPS hostname'],
    ['123456789012.dkr-ecr.us-east-1.on.aws', 'dual-stack hostname'],
    ['210987654321.dkr.ecr.cn-north-1.amazonaws.com.cn', 'aws-cn partition hostname'],
    [`${HOST}:443`, "includes a port (':443')"],
    [`https://${HOST}`, "includes a scheme ('https://')"],
    [`${HOST}/inference`, "includes a path ('/inference')"],
    ['ecr-public.aws.com', "only as 'public.ecr.aws'"],
  ])('refuses the hostname %s, which NVCF would refuse', (hostname, fault) => {
    const issues = issuesOf(minimal({ hostname }));
    expect(issues.map((i) => i.path)).toContain('registries[0].hostname');
    expect(issues.find((i) => i.path === 'registries[0].hostname')?.message).toContain(fault);
  });

  it('accepts a GovCloud standard hostname, which NVCF recognises', () => {
    const r = parseConfig(minimal({ hostname: '123456789012.dkr.ecr.us-gov-west-1.amazonaws.com' }));
    expect(r.ok && r.value.registries[0]?.partition).toBe('aws-us-gov');
  });

  it('accepts a credential name of 48 characters (NVCF `SecretDto`)', () => {
    expect(parseConfig(minimal({ credentialName: `a${'-'.repeat(46)}z` })).ok).toBe(true);
  });

  it('refuses a credential name of 49 characters', () => {
    expect(issuesOf(minimal({ credentialName: 'a'.repeat(49) }))).toEqual([
      { path: 'registries[0].credentialName', message: 'NVCF credential names are at most 48 characters' },
    ]);
  });

  it.each(['-ecr', '_ecr', '.ecr', 'ecr prod', 'ecr@prod', ''])(
    'refuses the credential name %j',
    (credentialName) => {
      expect(issuesOf(minimal({ credentialName }))).toEqual([
        {
          path: 'registries[0].credentialName',
          message:
            "NVCF credential names start with a letter or digit and contain only letters, digits, '_', '.' and '-'",
        },
      ]);
    },
  );

  it.each(['E', '9', 'Ecr_prod.v2-a'])('accepts the credential name %j', (credentialName) => {
    expect(parseConfig(minimal({ credentialName })).ok).toBe(true);
  });

  it('refuses two registries with the same (hostname, credentialName): NVCF answers 409', () => {
    const raw = minimal();
    const second = { name: 'prod-2', hostname: HOST, repositories: ['tools'], credentialName: 'ecr-prod' };
    expect(issuesOf({ ...raw, registries: [...raw.registries, second] })).toEqual([
      {
        path: 'registries[1].credentialName',
        message: `registries[0] already uses credential 'ecr-prod' for ${HOST}: NVCF needs (hostname, credentialName) to be unique`,
      },
    ]);
  });

  it('accepts the same credential name on different hostnames', () => {
    const raw = minimal();
    const other = {
      name: 'eu',
      hostname: '123456789012.dkr.ecr.eu-west-1.amazonaws.com',
      repositories: ['inference'],
      credentialName: 'ecr-prod',
    };
    expect(parseConfig({ ...raw, registries: [...raw.registries, other] }).ok).toBe(true);
  });

  it('refuses a grace period as long as the rotation interval', () => {
    expect(issuesOf(minimal({ rotation: { schedule: 'rate(1 day)' } }))).toEqual([
      {
        path: 'registries[0].rotation.graceHours',
        message:
          'graceHours (24) must be shorter than the rotation interval (24 h), or every rotation would be refused while the previous key is in its grace period',
      },
    ]);
  });

  it('accepts a grace period shorter than the interval', () => {
    expect(parseConfig(minimal({ rotation: { schedule: 'rate(1 day)', graceHours: 23 } })).ok).toBe(true);
  });

  it('refuses a public registry without accountId', () => {
    expect(issuesOf(minimal({ hostname: 'public.ecr.aws' }))).toEqual([
      {
        path: 'registries[0].accountId',
        message: 'ECR Public registries need the owner account: set accountId to its 12-digit id',
      },
    ]);
  });

  it('accepts a public registry with accountId and fills in us-east-1', () => {
    const r = parseConfig(
      minimal({ hostname: 'public.ecr.aws', accountId: '210987654321', publicAlias: 'my-alias' }),
    );
    expect(r.ok && r.value.registries[0]).toMatchObject({
      kind: 'public',
      accountId: '210987654321',
      region: 'us-east-1',
      partition: 'aws',
    });
  });

  it('refuses an accountId that contradicts the private hostname', () => {
    expect(issuesOf(minimal({ accountId: '210987654321' }))).toEqual([
      {
        path: 'registries[0].accountId',
        message: `accountId 210987654321 differs from the account in hostname ${HOST}: drop accountId`,
      },
    ]);
  });
});

describe('Function: serializeConfig', () => {
  it('round-trips through parseConfig, every name now given as resolved', async () => {
    const config = await loadConfig('nvcf-ecr.config.ts');
    const again = parseConfig(JSON.parse(serializeConfig(config)));
    expect(again).toEqual({
      ok: true,
      value: {
        ...config,
        ngcSecretNamed: true,
        registries: config.registries.map((r) => ({ ...r, named: { userName: true, secretName: true } })),
      },
    });
  });

  it('hands a deployment’s names to the reader exactly (the handlers use what the stacks created)', async () => {
    const deployed = forDeployment(await loadConfig('nvcf-ecr.config.ts'), {
      stage: 'prod',
      region: 'eu-west-1',
    });
    const again = parseConfig(JSON.parse(serializeConfig(deployed)));
    if (!again.ok) throw new Error('expected a valid configuration');
    expect(again.value.ngc.apiKeySecretName).toBe('nvcf-ecr/prod/ngc-api-key');
    expect(again.value.registries.map((r) => [r.userName, r.secretName])).toEqual([
      ['nvcf-ecr-prod-eu-west-1-prod', 'nvcf-ecr/prod/prod/pull-key'],
    ]);
  });

  it('drops the fields derived from the hostname', () => {
    const r = parseConfig(minimal());
    if (!r.ok) throw new Error('expected a valid configuration');
    const registry = JSON.parse(serializeConfig(r.value)).registries[0];
    for (const derived of ['kind', 'region', 'partition', 'host'])
      expect(registry).not.toHaveProperty(derived);
  });
});

describe('Function: assertConfig', () => {
  it('throws ConfigError listing every problem in its message', () => {
    const err = expectThrow(
      () => assertConfig(minimal({ credentialName: '-x', name: 'X' }), 'inline'),
      ConfigError,
      'Invalid configuration in inline (2 problems):',
    );
    expect(err.message).toContain('  - registries[0].name: ');
    expect(err.message).toContain('  - registries[0].credentialName: ');
    expect(err.issues).toHaveLength(2);
  });
});

describe('Function: defineConfig', () => {
  it('returns its argument unchanged', () => {
    const raw = minimal();
    expect(defineConfig(raw)).toBe(raw);
  });
});
