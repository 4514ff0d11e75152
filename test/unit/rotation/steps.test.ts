import { type IAMClient, NoSuchEntityException } from '@aws-sdk/client-iam';
import { ResourceNotFoundException, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { RotationError } from '@nvcf-ecr/core/errors';
import type { NvcfRegistryCredentialsPort, NvcfRegistryCredentialView } from '@nvcf-ecr/core/ports';
import { type ClientsForKey, retirePreviousKey, rotateCredential } from '@nvcf-ecr/core/rotation';
import { NvcfClient } from '@nvcf-ecr/nvcf';
import { describe, expect, it } from 'vitest';
import {
  CURRENT_VERSION,
  capturingLogger,
  config,
  fakeClient,
  K_CURRENT,
  K_PENDING,
  K_PREVIOUS,
  PREVIOUS_VERSION,
  pullKeyValue,
  registry,
  SECRET_ARN,
  TOKEN,
  virtualTime,
} from './fakes.ts';

// The rotation steps and the retirement against fake AWS clients and a virtual clock: how they read NVCF's
// answers — its Retry-After, and a `lastUpdatedAt` that is not a time.

const CREDENTIAL: NvcfRegistryCredentialView = {
  registryCredentialId: '3fa85f64-5717-4562-b3fc-2c963f66afa6',
  registryCredentialName: registry.credentialName,
  registryHostname: registry.hostname,
  artifactTypes: ['CONTAINER'],
  provisionedBy: 'USER',
  lastUpdatedAt: '2026-03-01T11:00:00.000Z',
  createdAt: '2026-01-01T00:00:00.000Z',
};

/**
 * Secrets Manager with a rotation of TOKEN under way: AWSCURRENT holds K_CURRENT, `pending` answers for the
 * AWSPENDING version; `more` answers other commands.
 */
function secretWithPending(pending: () => Record<string, unknown>, more: Record<string, () => unknown> = {}) {
  return fakeClient<SecretsManagerClient>({
    DescribeSecretCommand: () => ({
      ARN: SECRET_ARN,
      Name: registry.secretName,
      RotationEnabled: true,
      VersionIdsToStages: { [CURRENT_VERSION]: ['AWSCURRENT'], [TOKEN]: ['AWSPENDING'] },
      Tags: [],
    }),
    GetSecretValueCommand: (input) =>
      input['VersionId'] === TOKEN
        ? pending()
        : { VersionId: CURRENT_VERSION, SecretString: pullKeyValue(K_CURRENT, '2026-02-01T00:00:00.000Z') },
    ...more,
  });
}

/** {@link secretWithPending} whose AWSPENDING version holds K_PENDING, created at `pendingCreatedAt`. */
function rotatingSecret(pendingCreatedAt: string) {
  return secretWithPending(
    () => ({ VersionId: TOKEN, SecretString: pullKeyValue(K_PENDING, pendingCreatedAt) }),
    {
      TagResourceCommand: () => ({}),
      UntagResourceCommand: () => ({}),
    },
  );
}

/** Clients signed with a key: STS says it is the pull user, ECR hands out a token. */
const workingKeyClients: ClientsForKey = () => ({
  sts: fakeClient({
    GetCallerIdentityCommand: () => ({ Arn: `arn:aws:iam::123456789012:user/${registry.userName}` }),
  }),
  ecr: fakeClient({ GetAuthorizationTokenCommand: () => ({}) }),
  ecrPublic: fakeClient({ GetAuthorizationTokenCommand: () => ({}) }),
  destroy: () => {},
});

/** What a step runs with on virtual time `t`: the rotating secret, a new key that works, `nvcf` and `iam`. */
function stepDeps(
  t: ReturnType<typeof virtualTime>,
  nvcf: NvcfRegistryCredentialsPort,
  iam: IAMClient,
  timing: Parameters<typeof rotateCredential>[1]['timing'],
) {
  return {
    config,
    secrets: rotatingSecret(t.now().toISOString()),
    iam,
    nvcf,
    clientsForKey: workingKeyClients,
    now: t.now,
    monotonic: t.nowMs,
    sleep: t.sleep,
    logger: capturingLogger().logger,
    timing,
  };
}

describe('Function: rotateCredential (setSecret)', () => {
  it('waits as long as NVCF’s Retry-After asks, and stops at once when that wait would pass its budget', async () => {
    const t = virtualTime();
    const start = t.nowMs();
    const patches: number[] = [];
    // NVCF throttles every PATCH and asks for 30 s (longer than the client's own 5 s limit, so it gives the
    // answer back to the rotation at once).
    const fetch = (async (_url: string, init: RequestInit) => {
      if (init.method === 'GET')
        return new Response(JSON.stringify({ registryCredentials: [{ ...CREDENTIAL, ncaId: 'x' }] }), {
          status: 200,
        });
      patches.push(t.nowMs() - start);
      return new Response(JSON.stringify({ title: 'Too Many Requests', status: 429, detail: 'slow down' }), {
        status: 429,
        headers: { 'retry-after': '30' },
      });
    }) as typeof globalThis.fetch;
    const nvcf = new NvcfClient({
      baseUrl: 'https://api.ngc.nvidia.com',
      apiKey: async () => 'nvapi-not-a-real-key',
      fetch,
      sleep: t.sleep,
      now: t.nowMs,
      retry: { maxAttempts: 3, maxTotalMs: 15_000 },
    });
    const err = await rotateCredential(
      { Step: 'setSecret', SecretId: SECRET_ARN, ClientRequestToken: TOKEN },
      stepDeps(t, nvcf, fakeClient<IAMClient>({ ListAccessKeysCommand: () => ({ AccessKeyMetadata: [] }) }), {
        nvcfBudgetMs: 45_000,
      }),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RotationError);
    // A PATCH at 0 s, the next 30 s later as asked; a third would be 60 s in, past the 45 s budget: it fails there.
    expect(patches).toEqual([0, 30_000]);
    expect((err as Error).message).toContain('NVCF asked to wait 30 s');
    expect((err as Error).message).toContain('more than the 15 s left');
  });
});

describe('Function: rotateCredential (testSecret)', () => {
  it('does not take an NVCF lastUpdatedAt that is not a time for proof that NVCF took the key', async () => {
    const t = virtualTime();
    const nvcf: NvcfRegistryCredentialsPort = {
      findRegistryCredential: async () => ({ ...CREDENTIAL, lastUpdatedAt: 'yesterday' }),
      createRegistryCredential: async () => CREDENTIAL,
      patchRegistryCredential: async () => CREDENTIAL,
    };
    const err = await rotateCredential(
      { Step: 'testSecret', SecretId: SECRET_ARN, ClientRequestToken: TOKEN },
      stepDeps(t, nvcf, fakeClient<IAMClient>({}), { testBudgetMs: 2_000 }),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RotationError);
    expect((err as Error).message).toContain("lastUpdatedAt 'yesterday', which is not a time");
  });
});

describe('Function: rotateCredential (testSecret as Secrets Manager’s configuration test)', () => {
  // RotateSecret with RotateImmediately=false (every deploy that creates or changes a schedule) runs testSecret
  // alone against an AWSPENDING version Secrets Manager made: no createSecret ran, so it holds no new key.
  const untouchable = (what: string) => () => {
    throw new Error(`the configuration test must not use ${what}`);
  };
  const testDeps = (secrets: SecretsManagerClient, iam: IAMClient) => {
    const t = virtualTime();
    return {
      config,
      secrets,
      iam,
      nvcf: {
        findRegistryCredential: untouchable('NVCF'),
        createRegistryCredential: untouchable('NVCF'),
        patchRegistryCredential: untouchable('NVCF'),
      } as unknown as NvcfRegistryCredentialsPort,
      clientsForKey: untouchable('a key'),
      now: t.now,
      monotonic: t.nowMs,
      sleep: t.sleep,
      logger: capturingLogger().logger,
    };
  };
  const event = { Step: 'testSecret', SecretId: SECRET_ARN, ClientRequestToken: TOKEN } as const;

  it('passes a value-less AWSPENDING version after finding the pull user, and writes nothing', async () => {
    const secrets = secretWithPending(() => {
      throw new ResourceNotFoundException({ message: 'no value', $metadata: {} });
    });
    const iam = fakeClient<IAMClient>({ ListAccessKeysCommand: () => ({ AccessKeyMetadata: [] }) });
    await expect(rotateCredential(event, testDeps(secrets, iam))).resolves.toBeUndefined();
    expect(iam.calls.map((c) => [c.command, c.input['UserName']])).toEqual([
      ['ListAccessKeysCommand', registry.userName],
    ]);
    expect(new Set(secrets.calls.map((c) => c.command))).toEqual(
      new Set(['DescribeSecretCommand', 'GetSecretValueCommand']),
    );
  });

  it('passes an AWSPENDING copy of the current value', async () => {
    const secrets = secretWithPending(() => ({
      VersionId: TOKEN,
      SecretString: pullKeyValue(K_CURRENT, '2026-02-01T00:00:00.000Z'),
    }));
    const iam = fakeClient<IAMClient>({ ListAccessKeysCommand: () => ({ AccessKeyMetadata: [] }) });
    await expect(rotateCredential(event, testDeps(secrets, iam))).resolves.toBeUndefined();
  });

  it('fails, naming the user, when the pull user does not exist', async () => {
    const secrets = secretWithPending(() => {
      throw new ResourceNotFoundException({ message: 'no value', $metadata: {} });
    });
    const iam = fakeClient<IAMClient>({
      ListAccessKeysCommand: () => {
        throw new NoSuchEntityException({ message: 'no such user', $metadata: {} });
      },
    });
    // The failure path's own calls (tags, the event) are best effort: unanswered here, they never hide the error.
    const err = await rotateCredential(event, testDeps(secrets, iam)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RotationError);
    expect((err as Error).message).toContain(`The pull user ${registry.userName} does not exist`);
  });

  it('still proves a new key in a rotation: a pending key other than the current one is tested for real', async () => {
    const secrets = secretWithPending(() => ({
      VersionId: TOKEN,
      SecretString: pullKeyValue(K_PENDING, '2026-02-02T00:00:00.000Z'),
    }));
    const iam = fakeClient<IAMClient>({ ListAccessKeysCommand: () => ({ AccessKeyMetadata: [] }) });
    const err = await rotateCredential(event, testDeps(secrets, iam)).catch((e: unknown) => e);
    // It went on to prove the key with the key itself, which this test forbids.
    expect((err as Error).message).toContain('must not use a key');
  });
});

describe('Function: retirePreviousKey', () => {
  it('postpones, deactivating nothing, when NVCF’s lastUpdatedAt is not a time', async () => {
    const t = virtualTime();
    const twoDaysAgo = new Date(t.nowMs() - 48 * 3_600_000);
    const secrets = fakeClient<SecretsManagerClient>({
      DescribeSecretCommand: () => ({
        ARN: SECRET_ARN,
        Name: registry.secretName,
        RotationEnabled: true,
        LastRotatedDate: twoDaysAgo,
        VersionIdsToStages: { [CURRENT_VERSION]: ['AWSCURRENT'], [PREVIOUS_VERSION]: ['AWSPREVIOUS'] },
        Tags: [],
      }),
      GetSecretValueCommand: (input) =>
        input['VersionId'] === PREVIOUS_VERSION
          ? {
              VersionId: PREVIOUS_VERSION,
              SecretString: pullKeyValue(K_PREVIOUS, '2026-01-01T00:00:00.000Z'),
            }
          : {
              VersionId: CURRENT_VERSION,
              CreatedDate: twoDaysAgo,
              SecretString: pullKeyValue(K_CURRENT, twoDaysAgo.toISOString()),
            },
    });
    const iam = fakeClient<IAMClient>({
      ListAccessKeysCommand: () => ({
        AccessKeyMetadata: [
          { AccessKeyId: K_PREVIOUS, Status: 'Active', CreateDate: new Date('2026-01-01T00:00:00.000Z') },
          { AccessKeyId: K_CURRENT, Status: 'Active', CreateDate: twoDaysAgo },
        ],
      }),
      GetAccessKeyLastUsedCommand: () => ({ AccessKeyLastUsed: { ServiceName: 'N/A', Region: 'N/A' } }),
      UpdateAccessKeyCommand: () => ({}),
    });
    const { logger } = capturingLogger();
    const outcome = await retirePreviousKey(registry, {
      config,
      secrets,
      iam,
      nvcf: {
        findRegistryCredential: async () => ({ ...CREDENTIAL, lastUpdatedAt: 'unknown' }),
        createRegistryCredential: async () => CREDENTIAL,
        patchRegistryCredential: async () => CREDENTIAL,
      },
      now: t.now,
      logger,
    });
    expect(outcome.action).toBe('postponed');
    expect(outcome.reason).toContain("lastUpdatedAt 'unknown', which is not a time");
    expect(iam.calls.map((c) => c.command)).not.toContain('UpdateAccessKeyCommand');
  });
});
