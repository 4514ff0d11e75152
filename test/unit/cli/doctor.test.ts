import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  DescribeSecretCommand,
  type DescribeSecretCommandOutput,
  GetSecretValueCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-secrets-manager';
import { GetCallerIdentityCommand, STSServiceException } from '@aws-sdk/client-sts';
import type { Config } from '@nvcf-ecr/core/config';
import {
  NvcfForbiddenError,
  NvcfNetworkError,
  NvcfUnauthorizedError,
  type RegistryCredential,
} from '@nvcf-ecr/nvcf';
import { describe, expect, it } from 'vitest';
import { type DoctorCheck, type DoctorDeps, diagnose } from '../../../packages/cli/src/doctor/checks.ts';
import { main } from '../../../packages/cli/src/index.ts';
import { HOST, prodConfig } from '../../helpers/config.ts';
import { useTempDir } from '../../helpers/temp-dir.ts';
import { captureIo } from './io.ts';

// The doctor's checks against fake AWS and NVCF clients (no network): one healthy account, then each thing
// that can be wrong, with what the doctor says and which checks it skips because of it.

const config: Config = prodConfig();
const NGC_KEY = 'nvapi-0123456789abcdefghijklmnopqrstuvwxyz';

interface World {
  identity?: Error;
  ngcSecret?: string | Error;
  pullSecret?: Partial<DescribeSecretCommandOutput> | Error;
  nvcf?: RegistryCredential[] | Error;
}

const CREDENTIALS_PATH = '/v2/nvcf/registry-credentials';
/** NVCF's refusal, with `status`, of the credential list doctor reads. */
const listRefused = (status: number) => ({ method: 'GET', path: CREDENTIALS_PATH, status });

const notFound = (what: string) =>
  new ResourceNotFoundException({ message: `Secrets Manager can't find ${what}.`, $metadata: {} });

const credential: RegistryCredential = {
  registryCredentialId: 'cred-1',
  registryCredentialName: 'ecr-prod',
  registryHostname: HOST,
  artifactTypes: ['CONTAINER'],
  provisionedBy: 'USER',
  lastUpdatedAt: '2026-01-02T03:04:05.000Z',
  createdAt: '2026-01-01T00:00:00.000Z',
} as RegistryCredential;

const healthy: Required<Omit<World, 'identity'>> = {
  ngcSecret: NGC_KEY,
  pullSecret: {
    ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:nvcf-ecr/prod/pull-key-AbCdEf',
    RotationEnabled: true,
    RotationLambdaARN: 'arn:aws:lambda:us-east-1:123456789012:function:prod-nvcf-ecr-rotate-credential',
    LastRotatedDate: new Date('2026-01-02T03:04:00.000Z'),
  },
  nvcf: [credential],
};

/** Fake clients answering from `world`; records the NGC key NVCF was called with. */
function deps(world: World): DoctorDeps & { keysUsed: string[] } {
  const w = { ...healthy, ...world };
  const keysUsed: string[] = [];
  return {
    keysUsed,
    nvcfBaseUrl: 'https://api.ngc.nvidia.com',
    sts: {
      send: async (cmd: unknown) => {
        expect(cmd).toBeInstanceOf(GetCallerIdentityCommand);
        if (world.identity) throw world.identity;
        return { Account: '123456789012', Arn: 'arn:aws:iam::123456789012:user/operator', UserId: 'AIDA' };
      },
    } as unknown as DoctorDeps['sts'],
    secrets: {
      send: async (cmd: unknown) => {
        if (cmd instanceof GetSecretValueCommand) {
          expect(cmd.input.SecretId).toBe('nvcf-ecr/ngc-api-key');
          if (w.ngcSecret instanceof Error) throw w.ngcSecret;
          return { SecretString: w.ngcSecret };
        }
        if (cmd instanceof DescribeSecretCommand) {
          expect(cmd.input.SecretId).toBe('nvcf-ecr/prod/pull-key');
          if (w.pullSecret instanceof Error) throw w.pullSecret;
          return w.pullSecret;
        }
        throw new Error(`unexpected command ${String(cmd)}`);
      },
    } as unknown as DoctorDeps['secrets'],
    nvcf: (apiKey) => {
      keysUsed.push(apiKey);
      return {
        listRegistryCredentials: async () => {
          if (w.nvcf instanceof Error) throw w.nvcf;
          return w.nvcf;
        },
      };
    },
  };
}

const statuses = (checks: DoctorCheck[]) => Object.fromEntries(checks.map((c) => [c.id, c.status]));
const check = (checks: DoctorCheck[], id: string) => checks.find((c) => c.id === id) as DoctorCheck;

describe('Function: diagnose', () => {
  it('passes every check on a healthy deployment, calling NVCF with the stored NGC key', async () => {
    const d = deps({});
    const checks = await diagnose(config, d);
    expect(statuses(checks)).toEqual({
      'aws-credentials': 'ok',
      'ngc-key': 'ok',
      nvcf: 'ok',
      'registry.prod.secret': 'ok',
      'registry.prod.rotation': 'ok',
      'registry.prod.nvcf-credential': 'ok',
    });
    expect(d.keysUsed).toEqual([NGC_KEY]);
    expect(check(checks, 'aws-credentials').message).toBe(
      'arn:aws:iam::123456789012:user/operator (account 123456789012)',
    );
    expect(check(checks, 'registry.prod.nvcf-credential').message).toBe(
      `NVCF credential 'ecr-prod' (cred-1) for ${HOST}, updated 2026-01-02T03:04:05.000Z`,
    );
    expect(JSON.stringify(checks)).not.toContain(NGC_KEY);
  });

  it('fails aws-credentials with the fix and skips everything that needs AWS', async () => {
    const refused = new STSServiceException({
      name: 'InvalidClientTokenId',
      $fault: 'client',
      message: 'The security token included in the request is invalid.',
      $metadata: {},
    });
    const checks = await diagnose(config, deps({ identity: refused }));
    expect(statuses(checks)).toEqual({
      'aws-credentials': 'fail',
      'ngc-key': 'skip',
      nvcf: 'skip',
      'registry.prod.secret': 'skip',
      'registry.prod.rotation': 'skip',
      'registry.prod.nvcf-credential': 'skip',
    });
    expect(check(checks, 'aws-credentials')).toEqual({
      id: 'aws-credentials',
      status: 'fail',
      message:
        "AWS did not accept this machine's credentials: InvalidClientTokenId: The security token included in the request is invalid.",
      fix: "set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or run 'aws sso login'; check with 'aws sts get-caller-identity'",
    });
    expect(check(checks, 'ngc-key').message).toBe('not checked: it needs aws-credentials, which failed');
  });

  it('fails ngc-key when the secret is empty, with the command that stores the key, and skips NVCF', async () => {
    const checks = await diagnose(config, deps({ ngcSecret: '  ' }));
    expect(check(checks, 'ngc-key')).toEqual({
      id: 'ngc-key',
      status: 'fail',
      message: 'secret nvcf-ecr/ngc-api-key holds no NGC API key',
      fix: 'read -rs K && printf %s "$K" | aws secretsmanager put-secret-value --secret-id nvcf-ecr/ngc-api-key --secret-string file:///dev/stdin',
    });
    expect(statuses(checks)).toMatchObject({
      nvcf: 'skip',
      'registry.prod.secret': 'ok',
      'registry.prod.nvcf-credential': 'skip',
    });
  });

  it('fails ngc-key when the secret does not exist, pointing at the deployment', async () => {
    const checks = await diagnose(config, deps({ ngcSecret: notFound('the specified secret') }));
    expect(check(checks, 'ngc-key')).toMatchObject({
      status: 'fail',
      message: 'secret nvcf-ecr/ngc-api-key does not exist',
    });
    expect(check(checks, 'ngc-key').fix).toMatch(
      /^deploy the stacks \(they create it empty\), then store the key: /,
    );
  });

  it('fails nvcf when NVCF rejects the key (401), saying it is invalid, expired or revoked', async () => {
    const rejected = new NvcfUnauthorizedError(listRefused(401));
    const checks = await diagnose(config, deps({ nvcf: rejected }));
    expect(check(checks, 'nvcf')).toEqual({
      id: 'nvcf',
      status: 'fail',
      message: 'NVCF rejected the NGC API key (401): it is invalid, expired or revoked',
      fix: 'generate a key in NGC (Setup > API Keys) with the Cloud Functions service and put it in the secret',
    });
    expect(check(checks, 'registry.prod.nvcf-credential').status).toBe('skip');
  });

  it('fails nvcf when the key lacks the scope (403)', async () => {
    const forbidden = new NvcfForbiddenError(listRefused(403));
    const checks = await diagnose(config, deps({ nvcf: forbidden }));
    expect(check(checks, 'nvcf').message).toBe(
      'NVCF refused the NGC API key (403): it lacks the scope to manage registry credentials',
    );
  });

  it('fails nvcf when NVCF cannot be reached, naming the URL', async () => {
    const down = new NvcfNetworkError('GET', CREDENTIALS_PATH, 'getaddrinfo ENOTFOUND api.ngc.nvidia.com');
    const checks = await diagnose(config, deps({ nvcf: down }));
    expect(check(checks, 'nvcf')).toMatchObject({
      status: 'fail',
      message:
        'NVCF at https://api.ngc.nvidia.com is unreachable: NvcfNetworkError: NVCF GET /v2/nvcf/registry-credentials failed without an answer: getaddrinfo ENOTFOUND api.ngc.nvidia.com',
      fix: 'check the network and proxy, and ngc.baseUrl in the configuration (or --nvcf-endpoint)',
    });
  });

  it('fails the registry secret when it does not exist and skips its rotation check', async () => {
    const checks = await diagnose(config, deps({ pullSecret: notFound('the specified secret') }));
    expect(check(checks, 'registry.prod.secret')).toEqual({
      id: 'registry.prod.secret',
      status: 'fail',
      message: 'secret nvcf-ecr/prod/pull-key does not exist',
      fix: 'deploy the stacks: the Credentials stack creates it',
    });
    expect(check(checks, 'registry.prod.rotation').status).toBe('skip');
  });

  it('fails the rotation check when rotation is off', async () => {
    const checks = await diagnose(config, deps({ pullSecret: { ARN: 'arn', RotationEnabled: false } }));
    expect(check(checks, 'registry.prod.rotation')).toMatchObject({
      status: 'fail',
      message: 'rotation of nvcf-ecr/prod/pull-key is off',
    });
  });

  it('says, while no rotation has happened (a deploy never rotates), to store the NGC key and then rotate', async () => {
    const { LastRotatedDate: _never, ...deployed } = healthy.pullSecret as Record<string, unknown>;
    const checks = await diagnose(config, deps({ pullSecret: deployed }));
    expect(check(checks, 'registry.prod.rotation')).toMatchObject({
      status: 'fail',
      message: expect.stringContaining('no rotation has happened yet'),
      fix: expect.stringContaining('store the NGC key, then nvcf-ecr rotate prod'),
    });
  });

  it('fails the NVCF credential check when NVCF has none for the exact hostname and name', async () => {
    const other = { ...credential, registryHostname: '123456789012.dkr.ecr.us-west-2.amazonaws.com' };
    const checks = await diagnose(config, deps({ nvcf: [other] }));
    expect(check(checks, 'registry.prod.nvcf-credential')).toEqual({
      id: 'registry.prod.nvcf-credential',
      status: 'fail',
      message: `NVCF has no credential 'ecr-prod' for ${HOST}`,
      fix: "the first rotation creates it: 'nvcf-ecr rotate prod' once the NGC key is stored",
    });
  });
});

describe('Command: nvcf-ecr doctor', () => {
  const dir = useTempDir('nvcf-ecr-doctor-');

  it('reports an invalid configuration as a failed check, exit 1, and checks nothing else', async () => {
    const path = join(dir(), 'bad.json');
    await writeFile(path, JSON.stringify({ ngc: { apiKeySecretName: '' }, registries: [] }));
    const io = captureIo();
    expect(await main(['doctor', '--config', path, '--json'], io)).toBe(1);
    const report = JSON.parse(io.out()) as { schemaVersion: number; ok: boolean; checks: DoctorCheck[] };
    expect(report.schemaVersion).toBe(1);
    expect(report.ok).toBe(false);
    expect(report.checks.map((c) => [c.id, c.status])).toEqual([
      ['config', 'fail'],
      ['aws-credentials', 'skip'],
      ['ngc-key', 'skip'],
      ['nvcf', 'skip'],
    ]);
    expect(report.checks[0]?.message).toContain(`Invalid configuration in ${path} (2 problems):`);
    expect(report.checks[0]?.message).toContain('registries: must list at least one registry');
  });

  it('prints one line per check with its fix when not asked for JSON', async () => {
    const io = captureIo({ env: { NO_COLOR: '1' } });
    expect(await main(['doctor', '--config', join(dir(), 'missing.ts')], io)).toBe(1);
    expect(io.out()).toMatch(/^fail {2}config {11}Invalid configuration in .*missing\.ts \(1 problem\):\n/);
    expect(io.out()).toContain(
      "fix: fix the keys listed (the configuration reference in README.md), or write one with 'nvcf-ecr init'",
    );
    expect(io.out()).toContain('skip  aws-credentials  not checked: it needs config, which failed\n');
    expect(io.out().endsWith('\n1 check failed\n')).toBe(true);
  });
});
