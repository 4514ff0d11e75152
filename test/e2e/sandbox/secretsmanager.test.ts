import {
  CancelRotateSecretCommand,
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  type ListSecretsCommandInput,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  RestoreSecretCommand,
  RotateSecretCommand,
  type SecretsManagerClient,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateSecretCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import type { RunningSandbox } from '@nvcf-ecr/sandbox';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { clients, control, rejection, userClients, withSandbox } from '../../helpers/sandbox.ts';

/**
 * Conformance of the Secrets Manager emulator, driven with the real SDK v3 client. Expected codes, statuses
 * and messages are the ones AWS answers (recorded in LocalStack's AWS-validated snapshots, the SDK's error
 * schemas and the Secrets Manager docs); the emulator's errors.ts cites each source.
 */

const DAY = 86_400_000;
const T1 = '11111111-1111-4111-8111-111111111111';
const T2 = '22222222-2222-4222-8222-222222222222';
const T3 = '33333333-3333-4333-8333-333333333333';

describe('Sandbox: Secrets Manager conformance', () => {
  let sb: RunningSandbox;
  let sm: SecretsManagerClient;

  beforeAll(async () => {
    sb = await withSandbox();
    sm = clients(sb).secrets;
  });
  afterAll(() => sb.close());
  beforeEach(() => control(sb, 'POST', 'reset'));

  /** A client whose serialized JSON body is rewritten before signing (raw requests the SDK would never send). */
  function rawClient(rewrite: (body: Record<string, unknown>) => string): SecretsManagerClient {
    const client = clients(sb).secrets;
    client.middlewareStack.add(
      (next) => async (args) => {
        // The SDK's JSON body is a string or bytes holding the serialized request.
        const request = args.request as { body?: unknown; headers?: Record<string, string> };
        const raw =
          request.body instanceof Uint8Array
            ? Buffer.from(request.body.buffer, request.body.byteOffset, request.body.byteLength).toString(
                'utf8',
              )
            : `${request.body ?? '{}'}`;
        const body = rewrite(JSON.parse(raw) as Record<string, unknown>);
        request.body = body;
        if (request.headers) request.headers['content-length'] = String(Buffer.byteLength(body));
        return next(args);
      },
      { step: 'build', priority: 'low', name: 'rewriteBody' },
    );
    return client;
  }

  const create = (name: string, value = 'v1', token = T1) =>
    sm.send(new CreateSecretCommand({ Name: name, SecretString: value, ClientRequestToken: token }));
  const stages = async (id: string) =>
    (await sm.send(new DescribeSecretCommand({ SecretId: id }))).VersionIdsToStages;

  describe('Operation: CreateSecret', () => {
    it('creates a secret whose ARN ends in the name and six random letters, the token becoming its VersionId', async () => {
      const out = await create('app/db-password');
      expect(out.ARN).toMatch(
        new RegExp(`^arn:aws:secretsmanager:us-east-1:${sb.accountId}:secret:app/db-password-[A-Za-z]{6}$`),
      );
      expect(out.VersionId).toBe(T1);
      const value = await sm.send(new GetSecretValueCommand({ SecretId: 'app/db-password' }));
      expect(value).toMatchObject({
        SecretString: 'v1',
        VersionId: T1,
        VersionStages: ['AWSCURRENT'],
        Name: 'app/db-password',
      });
    });

    it('creates a secret without a value and without any version', async () => {
      const out = await sm.send(new CreateSecretCommand({ Name: 'empty', Description: 'later' }));
      expect(out.VersionId).toBeUndefined();
      const described = await sm.send(new DescribeSecretCommand({ SecretId: 'empty' }));
      expect(described.VersionIdsToStages).toBeUndefined();
      expect(described.Description).toBe('later');
      const err = await rejection(sm.send(new GetSecretValueCommand({ SecretId: 'empty' })));
      expect(err.name).toBe('ResourceNotFoundException');
      expect(err.message).toBe(
        "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT",
      );
    });

    it('round-trips a binary value byte for byte', async () => {
      const bytes = new Uint8Array([0, 1, 2, 255, 254]);
      await sm.send(new CreateSecretCommand({ Name: 'bin', SecretBinary: bytes }));
      const value = await sm.send(new GetSecretValueCommand({ SecretId: 'bin' }));
      expect([...(value.SecretBinary ?? [])]).toEqual([...bytes]);
      expect(value.SecretString).toBeUndefined();
    });

    it('ignores a retry with the same token and value', async () => {
      const first = await create('retried');
      const again = await create('retried');
      expect(again).toMatchObject({ ARN: first.ARN, VersionId: T1 });
    });

    it('rejects a second secret of the same name with ResourceExistsException', async () => {
      await create('twice');
      const err = await rejection(create('twice', 'other', T2));
      expect(err.name).toBe('ResourceExistsException');
      expect(err.$metadata?.httpStatusCode).toBe(400);
      expect(err.message).toBe('The operation failed because the secret twice already exists.');
    });

    it('rejects a name outside the allowed alphabet with ValidationException', async () => {
      const err = await rejection(create('Inv Name'));
      expect(err.name).toBe('ValidationException');
      expect(err.message).toBe(
        'Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!',
      );
    });

    it('rejects both SecretString and SecretBinary with InvalidParameterException', async () => {
      const err = await rejection(
        sm.send(
          new CreateSecretCommand({ Name: 'both', SecretString: 'a', SecretBinary: new Uint8Array([1]) }),
        ),
      );
      expect(err.name).toBe('InvalidParameterException');
      expect(err.message).toBe(
        "You can't specify both a binary secret value and a string secret value in the same secret.",
      );
    });

    it('rejects a raw request with a value but no ClientRequestToken with InvalidRequestException', async () => {
      const raw = rawClient(({ ClientRequestToken: _, ...rest }) => JSON.stringify(rest));
      const err = await rejection(raw.send(new CreateSecretCommand({ Name: 'no-token', SecretString: 'x' })));
      expect(err.name).toBe('InvalidRequestException');
      expect(err.message).toBe(
        'You must provide a ClientRequestToken value. We recommend a UUID-type value.',
      );
    });

    it('rejects a token shorter than 32 characters with ValidationException', async () => {
      const err = await rejection(create('short-token', 'x', 'abc'));
      expect(err.name).toBe('ValidationException');
      expect(err.message).toBe(
        "1 validation error detected: Value 'abc' at 'clientRequestToken' failed to satisfy constraint: Member must have length greater than or equal to 32",
      );
    });
  });

  describe('Operation: DescribeSecret', () => {
    it('finds a secret by name, full ARN and partial ARN', async () => {
      const { ARN } = await create('finder');
      const partial = ARN?.slice(0, -7) ?? '';
      for (const id of ['finder', ARN ?? '', partial]) {
        expect((await sm.send(new DescribeSecretCommand({ SecretId: id }))).ARN).toBe(ARN);
      }
    });

    it('answers ResourceNotFoundException (400) for an unknown secret', async () => {
      const err = await rejection(sm.send(new DescribeSecretCommand({ SecretId: 'ghost' })));
      expect(err.name).toBe('ResourceNotFoundException');
      expect(err.$metadata?.httpStatusCode).toBe(400);
      expect(err.message).toBe("Secrets Manager can't find the specified secret.");
    });

    it('reports LastAccessedDate as the day only, and the KMS key and tags it was created with', async () => {
      await sm.send(
        new CreateSecretCommand({
          Name: 'meta',
          SecretString: 'x',
          KmsKeyId: 'alias/custom',
          Tags: [{ Key: 'team', Value: 'ml' }],
        }),
      );
      expect(
        (await sm.send(new DescribeSecretCommand({ SecretId: 'meta' }))).LastAccessedDate,
      ).toBeUndefined();
      await sm.send(new GetSecretValueCommand({ SecretId: 'meta' }));
      const d = await sm.send(new DescribeSecretCommand({ SecretId: 'meta' }));
      const now = Date.parse((await control<{ now: string }>(sb, 'GET', 'clock')).now);
      expect(d.LastAccessedDate?.getTime()).toBe(Math.floor(now / DAY) * DAY);
      expect(d.KmsKeyId).toBe('alias/custom');
      expect(d.Tags).toEqual([{ Key: 'team', Value: 'ml' }]);
      expect(d.RotationEnabled).toBeUndefined();
    });
  });

  describe('Operation: GetSecretValue', () => {
    it('reads a version by VersionStage and by VersionId', async () => {
      await create('reader', 'old', T1);
      await sm.send(
        new PutSecretValueCommand({ SecretId: 'reader', SecretString: 'new', ClientRequestToken: T2 }),
      );
      expect(
        (await sm.send(new GetSecretValueCommand({ SecretId: 'reader', VersionStage: 'AWSPREVIOUS' })))
          .SecretString,
      ).toBe('old');
      expect(
        (await sm.send(new GetSecretValueCommand({ SecretId: 'reader', VersionId: T2 }))).SecretString,
      ).toBe('new');
    });

    it('answers ResourceNotFoundException naming an unknown VersionId', async () => {
      await create('reader2');
      const err = await rejection(sm.send(new GetSecretValueCommand({ SecretId: 'reader2', VersionId: T3 })));
      expect(err.name).toBe('ResourceNotFoundException');
      expect(err.message).toBe(`Secrets Manager can't find the specified secret value for VersionId: ${T3}`);
    });

    it('answers ResourceNotFoundException naming a staging label no version has', async () => {
      await create('reader3');
      const err = await rejection(
        sm.send(new GetSecretValueCommand({ SecretId: 'reader3', VersionStage: 'AWSPREVIOUS' })),
      );
      expect(err.name).toBe('ResourceNotFoundException');
      expect(err.message).toBe(
        "Secrets Manager can't find the specified secret value for staging label: AWSPREVIOUS",
      );
    });

    it('answers InvalidRequestException when VersionStage is not on VersionId', async () => {
      await create('reader4');
      const err = await rejection(
        sm.send(
          new GetSecretValueCommand({ SecretId: 'reader4', VersionId: T1, VersionStage: 'AWSPENDING' }),
        ),
      );
      expect(err.name).toBe('InvalidRequestException');
      expect(err.message).toBe(
        'You provided a VersionStage that is not associated to the provided VersionId.',
      );
    });
  });

  describe('Operation: PutSecretValue', () => {
    it('moves AWSCURRENT to the new version, AWSPREVIOUS to the old one and off the older one', async () => {
      await create('chain', 'a', T1);
      await sm.send(
        new PutSecretValueCommand({ SecretId: 'chain', SecretString: 'b', ClientRequestToken: T2 }),
      );
      await sm.send(
        new PutSecretValueCommand({ SecretId: 'chain', SecretString: 'c', ClientRequestToken: T3 }),
      );
      expect(await stages('chain')).toEqual({ [T2]: ['AWSPREVIOUS'], [T3]: ['AWSCURRENT'] });
    });

    it('attaches only the VersionStages given, leaving AWSCURRENT where it was', async () => {
      await create('pending', 'a', T1);
      const out = await sm.send(
        new PutSecretValueCommand({
          SecretId: 'pending',
          SecretString: 'b',
          ClientRequestToken: T2,
          VersionStages: ['AWSPENDING'],
        }),
      );
      expect(out.VersionStages).toEqual(['AWSPENDING']);
      expect((await sm.send(new GetSecretValueCommand({ SecretId: 'pending' }))).SecretString).toBe('a');
    });

    it('is a no-op for the same token and value', async () => {
      await create('idem', 'a', T1);
      const first = await sm.send(
        new PutSecretValueCommand({ SecretId: 'idem', SecretString: 'b', ClientRequestToken: T2 }),
      );
      const again = await sm.send(
        new PutSecretValueCommand({ SecretId: 'idem', SecretString: 'b', ClientRequestToken: T2 }),
      );
      expect(again).toMatchObject({ VersionId: first.VersionId, VersionStages: ['AWSCURRENT'] });
      expect(await stages('idem')).toEqual({ [T1]: ['AWSPREVIOUS'], [T2]: ['AWSCURRENT'] });
    });

    it('rejects the same token with another value with ResourceExistsException', async () => {
      await create('idem2', 'a', T1);
      const err = await rejection(
        sm.send(
          new PutSecretValueCommand({ SecretId: 'idem2', SecretString: 'changed', ClientRequestToken: T1 }),
        ),
      );
      expect(err.name).toBe('ResourceExistsException');
      expect(err.message).toBe("You can't modify an existing version, you can only create a new version.");
    });

    it('moves a custom label off the version that had it; a version left without labels is deprecated', async () => {
      await create('labels', 'a', T1);
      await sm.send(
        new PutSecretValueCommand({
          SecretId: 'labels',
          SecretString: 'b',
          ClientRequestToken: T2,
          VersionStages: ['one'],
        }),
      );
      await sm.send(
        new PutSecretValueCommand({
          SecretId: 'labels',
          SecretString: 'c',
          ClientRequestToken: T3,
          VersionStages: ['one'],
        }),
      );
      const listed = await sm.send(new ListSecretVersionIdsCommand({ SecretId: 'labels' }));
      expect(listed.Versions?.map((v) => [v.VersionId, v.VersionStages])).toEqual([
        [T1, ['AWSCURRENT']],
        [T3, ['one']],
      ]);
      const all = await sm.send(
        new ListSecretVersionIdsCommand({ SecretId: 'labels', IncludeDeprecated: true }),
      );
      expect(all.Versions?.find((v) => v.VersionId === T2)?.VersionStages).toBeUndefined();
    });

    it('drops AWSPENDING with AWSCURRENT when a completed rotation left both on one version', async () => {
      await create('cycle', 'a', T1);
      await sm.send(
        new PutSecretValueCommand({
          SecretId: 'cycle',
          SecretString: 'b',
          ClientRequestToken: T2,
          VersionStages: ['AWSPENDING'],
        }),
      );
      await sm.send(
        new UpdateSecretVersionStageCommand({
          SecretId: 'cycle',
          VersionStage: 'AWSCURRENT',
          MoveToVersionId: T2,
          RemoveFromVersionId: T1,
        }),
      );
      expect(await stages('cycle')).toEqual({ [T1]: ['AWSPREVIOUS'], [T2]: ['AWSCURRENT', 'AWSPENDING'] });
      await sm.send(
        new PutSecretValueCommand({ SecretId: 'cycle', SecretString: 'c', ClientRequestToken: T3 }),
      );
      expect(await stages('cycle')).toEqual({ [T2]: ['AWSPREVIOUS'], [T3]: ['AWSCURRENT'] });
    });

    it('rejects a request without a value with InvalidRequestException', async () => {
      await create('novalue');
      const err = await rejection(
        sm.send(new PutSecretValueCommand({ SecretId: 'novalue', ClientRequestToken: T2 })),
      );
      expect(err.name).toBe('InvalidRequestException');
      expect(err.message).toBe('You must provide either SecretString or SecretBinary.');
    });

    it('rejects a raw request without ClientRequestToken with InvalidRequestException', async () => {
      await create('notoken');
      const raw = rawClient(({ ClientRequestToken: _, ...rest }) => JSON.stringify(rest));
      const err = await rejection(
        raw.send(new PutSecretValueCommand({ SecretId: 'notoken', SecretString: 'x' })),
      );
      expect(err.name).toBe('InvalidRequestException');
      expect(err.message).toBe(
        'You must provide a ClientRequestToken value. We recommend a UUID-type value.',
      );
    });
  });

  describe('Operation: UpdateSecretVersionStage', () => {
    async function twoVersions(name: string) {
      await create(name, 'a', T1);
      await sm.send(
        new PutSecretValueCommand({
          SecretId: name,
          SecretString: 'b',
          ClientRequestToken: T2,
          VersionStages: ['AWSPENDING'],
        }),
      );
    }

    it('moves AWSCURRENT and gives the version it left AWSPREVIOUS', async () => {
      await twoVersions('move');
      const out = await sm.send(
        new UpdateSecretVersionStageCommand({
          SecretId: 'move',
          VersionStage: 'AWSCURRENT',
          MoveToVersionId: T2,
          RemoveFromVersionId: T1,
        }),
      );
      expect(out.Name).toBe('move');
      expect(await stages('move')).toEqual({ [T1]: ['AWSPREVIOUS'], [T2]: ['AWSCURRENT', 'AWSPENDING'] });
    });

    it('rolls back: AWSCURRENT onto the AWSPREVIOUS version swaps the two labels', async () => {
      await create('rollback', 'a', T1);
      await sm.send(
        new PutSecretValueCommand({ SecretId: 'rollback', SecretString: 'b', ClientRequestToken: T2 }),
      );
      await sm.send(
        new UpdateSecretVersionStageCommand({
          SecretId: 'rollback',
          VersionStage: 'AWSCURRENT',
          MoveToVersionId: T1,
          RemoveFromVersionId: T2,
        }),
      );
      expect(await stages('rollback')).toEqual({ [T1]: ['AWSCURRENT'], [T2]: ['AWSPREVIOUS'] });
    });

    it('rejects moving an attached label without RemoveFromVersionId with the message AWS gives', async () => {
      await twoVersions('needs-remove');
      const err = await rejection(
        sm.send(
          new UpdateSecretVersionStageCommand({
            SecretId: 'needs-remove',
            VersionStage: 'AWSCURRENT',
            MoveToVersionId: T2,
          }),
        ),
      );
      expect(err.name).toBe('InvalidParameterException');
      expect(err.message).toBe(
        `The parameter RemoveFromVersionId can't be empty. Staging label AWSCURRENT is currently attached to version ${T1}, so you must explicitly reference that version in RemoveFromVersionId.`,
      );
    });

    it('rejects a RemoveFromVersionId that does not hold the label', async () => {
      await twoVersions('wrong-remove');
      const err = await rejection(
        sm.send(
          new UpdateSecretVersionStageCommand({
            SecretId: 'wrong-remove',
            VersionStage: 'AWSCURRENT',
            MoveToVersionId: T2,
            RemoveFromVersionId: T2,
          }),
        ),
      );
      expect(err.name).toBe('InvalidParameterException');
      expect(err.message).toBe(
        `When you move staging label AWSCURRENT, RemoveFromVersionId must be the version that currently has it: ${T1}.`,
      );
    });

    it('rejects a version the secret does not have', async () => {
      await twoVersions('no-version');
      const err = await rejection(
        sm.send(
          new UpdateSecretVersionStageCommand({
            SecretId: 'no-version',
            VersionStage: 'AWSPENDING',
            MoveToVersionId: T3,
            RemoveFromVersionId: T2,
          }),
        ),
      );
      expect(err.name).toBe('InvalidParameterException');
      expect(err.message).toBe(`Not a valid version: ${T3}`);
    });

    it('removes a label when only RemoveFromVersionId is given (clearing a stale AWSPENDING)', async () => {
      await twoVersions('clear');
      await sm.send(
        new UpdateSecretVersionStageCommand({
          SecretId: 'clear',
          VersionStage: 'AWSPENDING',
          RemoveFromVersionId: T2,
        }),
      );
      expect(await stages('clear')).toEqual({ [T1]: ['AWSCURRENT'] });
    });
  });

  describe('Operation: ListSecretVersionIds', () => {
    it('pages with MaxResults and NextToken through every version', async () => {
      await create('paged', 'a', T1);
      const tokens = [T2, T3, '44444444-4444-4444-8444-444444444444'];
      for (const [i, t] of tokens.entries()) {
        await sm.send(
          new PutSecretValueCommand({
            SecretId: 'paged',
            SecretString: `v${i}`,
            ClientRequestToken: t,
            VersionStages: [`L${i}`],
          }),
        );
      }
      const seen: string[] = [];
      let next: string | undefined;
      do {
        const out = await sm.send(
          new ListSecretVersionIdsCommand({ SecretId: 'paged', MaxResults: 3, NextToken: next }),
        );
        expect(out.Versions?.length).toBeLessThanOrEqual(3);
        for (const v of out.Versions ?? []) {
          seen.push(v.VersionId ?? '');
          expect(v.KmsKeyIds).toEqual(['DefaultEncryptionKey']);
        }
        next = out.NextToken;
      } while (next);
      expect(seen).toEqual([T1, ...tokens]);
    });

    it('keeps every version of the last day, then only the 100 most recent unlabelled ones', async () => {
      await create('busy', 'v0', T1);
      const count = async () => {
        let n = 0;
        let next: string | undefined;
        do {
          const out = await sm.send(
            new ListSecretVersionIdsCommand({ SecretId: 'busy', IncludeDeprecated: true, NextToken: next }),
          );
          n += out.Versions?.length ?? 0;
          next = out.NextToken;
        } while (next);
        return n;
      };
      for (let i = 1; i <= 101; i++)
        await sm.send(new PutSecretValueCommand({ SecretId: 'busy', SecretString: `v${i}` }));
      expect(await count()).toBe(102);
      await control(sb, 'POST', 'clock', { advanceSeconds: 25 * 3600 });
      await sm.send(new PutSecretValueCommand({ SecretId: 'busy', SecretString: 'v102' }));
      expect(await count()).toBe(100);
      // The oldest, unlabelled since, went first; the labelled ones stay.
      const first = await sm.send(
        new ListSecretVersionIdsCommand({ SecretId: 'busy', IncludeDeprecated: true, MaxResults: 1 }),
      );
      expect(first.Versions?.[0]?.VersionId).not.toBe(T1);
      expect(Object.values((await stages('busy')) ?? {}).sort()).toEqual([['AWSCURRENT'], ['AWSPREVIOUS']]);
    });

    it('rejects a NextToken it did not issue with InvalidNextTokenException', async () => {
      await create('badtoken');
      const err = await rejection(
        sm.send(new ListSecretVersionIdsCommand({ SecretId: 'badtoken', NextToken: 'garbage' })),
      );
      expect(err.name).toBe('InvalidNextTokenException');
      expect(err.message).toBe(
        'The NextToken value is not valid: pass the NextToken of the previous page unchanged.',
      );
    });
  });

  describe('Operation: ListSecrets', () => {
    it('filters by name prefix and tag key, excludes deleted secrets unless asked, and pages', async () => {
      await create('prod/a');
      await create('prod/b');
      await create('dev/c');
      await sm.send(new TagResourceCommand({ SecretId: 'prod/b', Tags: [{ Key: 'owner', Value: 'ml' }] }));
      await sm.send(new DeleteSecretCommand({ SecretId: 'prod/a' }));
      const names = async (input: ListSecretsCommandInput) =>
        (await sm.send(new ListSecretsCommand(input))).SecretList?.map((s) => s.Name);
      expect(await names({ Filters: [{ Key: 'name', Values: ['prod/'] }] })).toEqual(['prod/b']);
      expect(
        await names({ Filters: [{ Key: 'name', Values: ['prod/'] }], IncludePlannedDeletion: true }),
      ).toEqual(['prod/a', 'prod/b']);
      expect(await names({ Filters: [{ Key: 'tag-key', Values: ['owner'] }] })).toEqual(['prod/b']);
      expect(await names({ Filters: [{ Key: 'name', Values: ['!prod/'] }] })).toEqual(['dev/c']);
      const first = await sm.send(new ListSecretsCommand({ MaxResults: 1 }));
      const second = await sm.send(new ListSecretsCommand({ MaxResults: 1, NextToken: first.NextToken }));
      expect([first.SecretList?.[0]?.Name, second.SecretList?.[0]?.Name]).toEqual(['prod/b', 'dev/c']);
      expect(second.NextToken).toBeUndefined();
      expect(first.SecretList?.[0]?.SecretVersionsToStages).toEqual({ [T1]: ['AWSCURRENT'] });
    });

    it('rejects an unknown filter key with ValidationException', async () => {
      const err = await rejection(
        sm.send(new ListSecretsCommand({ Filters: [{ Key: 'colour' as never, Values: ['x'] }] })),
      );
      expect(err.name).toBe('ValidationException');
      expect(err.message).toBe(
        "1 validation error detected: Value 'colour' at 'key' failed to satisfy constraint: Member must satisfy enum value set: [description, name, tag-key, tag-value, primary-region, owning-service, all]",
      );
    });
  });

  describe('Operations: DeleteSecret, RestoreSecret', () => {
    it('schedules deletion 30 days out by default and refuses most calls meanwhile', async () => {
      await create('doomed');
      const now = Date.parse((await control<{ now: string }>(sb, 'GET', 'clock')).now);
      const out = await sm.send(new DeleteSecretCommand({ SecretId: 'doomed' }));
      expect((out.DeletionDate?.getTime() ?? 0) - now).toBeGreaterThanOrEqual(30 * DAY);
      expect((out.DeletionDate?.getTime() ?? 0) - now).toBeLessThan(30 * DAY + 60_000);
      expect((await sm.send(new DescribeSecretCommand({ SecretId: 'doomed' }))).DeletedDate).toBeInstanceOf(
        Date,
      );
      for (const call of [
        sm.send(new GetSecretValueCommand({ SecretId: 'doomed' })),
        sm.send(new TagResourceCommand({ SecretId: 'doomed', Tags: [{ Key: 'k', Value: 'v' }] })),
        sm.send(new DeleteSecretCommand({ SecretId: 'doomed' })),
      ]) {
        const err = await rejection(call);
        expect(err.name).toBe('InvalidRequestException');
        expect(err.message).toBe(
          "You can't perform this operation on the secret because it was marked for deletion.",
        );
      }
      const again = await rejection(create('doomed', 'x', T2));
      expect(again.name).toBe('InvalidRequestException');
      expect(again.message).toBe(
        "You can't create this secret because a secret with this name is already scheduled for deletion.",
      );
    });

    it('restores a secret scheduled for deletion', async () => {
      await create('saved');
      await sm.send(new DeleteSecretCommand({ SecretId: 'saved', RecoveryWindowInDays: 7 }));
      await sm.send(new RestoreSecretCommand({ SecretId: 'saved' }));
      expect((await sm.send(new GetSecretValueCommand({ SecretId: 'saved' }))).SecretString).toBe('v1');
      expect((await sm.send(new DescribeSecretCommand({ SecretId: 'saved' }))).DeletedDate).toBeUndefined();
    });

    it('purges the secret once the recovery window has passed on the virtual clock', async () => {
      await create('expiring');
      await sm.send(new DeleteSecretCommand({ SecretId: 'expiring', RecoveryWindowInDays: 7 }));
      await control(sb, 'POST', 'clock', { advanceSeconds: 7 * 86_400 + 1 });
      const err = await rejection(sm.send(new DescribeSecretCommand({ SecretId: 'expiring' })));
      expect(err.name).toBe('ResourceNotFoundException');
    });

    it('deletes at once with ForceDeleteWithoutRecovery, even a secret that does not exist', async () => {
      await create('gone');
      await sm.send(new DeleteSecretCommand({ SecretId: 'gone', ForceDeleteWithoutRecovery: true }));
      expect((await rejection(sm.send(new DescribeSecretCommand({ SecretId: 'gone' })))).name).toBe(
        'ResourceNotFoundException',
      );
      const out = await sm.send(
        new DeleteSecretCommand({ SecretId: 'never-was', ForceDeleteWithoutRecovery: true }),
      );
      expect(out.Name).toBe('never-was');
    });

    it('rejects a recovery window outside 7-30 days and a window combined with force', async () => {
      await create('window');
      const short = await rejection(
        sm.send(new DeleteSecretCommand({ SecretId: 'window', RecoveryWindowInDays: 6 })),
      );
      expect(short.name).toBe('InvalidParameterException');
      expect(short.message).toBe('The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).');
      const both = await rejection(
        sm.send(
          new DeleteSecretCommand({
            SecretId: 'window',
            RecoveryWindowInDays: 7,
            ForceDeleteWithoutRecovery: true,
          }),
        ),
      );
      expect(both.name).toBe('InvalidParameterException');
      expect(both.message).toBe(
        "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.",
      );
    });
  });

  describe('Operations: TagResource, UntagResource, UpdateSecret', () => {
    it('adds, overwrites and removes tags; Tags stays present, empty, once set', async () => {
      await create('tagged');
      await sm.send(
        new TagResourceCommand({
          SecretId: 'tagged',
          Tags: [
            { Key: 'a', Value: '1' },
            { Key: 'b', Value: '2' },
          ],
        }),
      );
      await sm.send(new TagResourceCommand({ SecretId: 'tagged', Tags: [{ Key: 'a', Value: '3' }] }));
      expect((await sm.send(new DescribeSecretCommand({ SecretId: 'tagged' }))).Tags).toEqual([
        { Key: 'a', Value: '3' },
        { Key: 'b', Value: '2' },
      ]);
      await sm.send(new UntagResourceCommand({ SecretId: 'tagged', TagKeys: ['a', 'b'] }));
      expect((await sm.send(new DescribeSecretCommand({ SecretId: 'tagged' }))).Tags).toEqual([]);
    });

    it('updates the description without a new version, and the value with one', async () => {
      await create('updated', 'a', T1);
      const meta = await sm.send(new UpdateSecretCommand({ SecretId: 'updated', Description: 'new words' }));
      expect(meta.VersionId).toBeUndefined();
      const valued = await sm.send(
        new UpdateSecretCommand({ SecretId: 'updated', SecretString: 'b', ClientRequestToken: T2 }),
      );
      expect(valued.VersionId).toBe(T2);
      const d = await sm.send(new DescribeSecretCommand({ SecretId: 'updated' }));
      expect(d.Description).toBe('new words');
      expect(d.VersionIdsToStages).toEqual({ [T1]: ['AWSPREVIOUS'], [T2]: ['AWSCURRENT'] });
    });
  });

  describe('Operations: RotateSecret, CancelRotateSecret (validation; the rotation itself: rotation-driver.test.ts)', () => {
    const fn = () => `arn:aws:lambda:${sb.region}:${sb.accountId}:function:conformance-rotator`;
    beforeAll(() => {
      sb.lambda.register({
        arn: fn(),
        name: 'conformance-rotator',
        handler: async () => ({}),
        timeoutSeconds: 30,
        memoryMb: 128,
      });
    });

    it('rejects a secret without a rotation function with InvalidRequestException', async () => {
      await create('nofn');
      const err = await rejection(sm.send(new RotateSecretCommand({ SecretId: 'nofn' })));
      expect(err.name).toBe('InvalidRequestException');
      expect(err.message).toBe('No Lambda rotation function ARN is associated with this secret.');
    });

    it('rejects a function Secrets Manager cannot invoke with AccessDeniedException (400) and keeps the configuration', async () => {
      await create('unknownfn');
      const err = await rejection(
        sm.send(
          new RotateSecretCommand({
            SecretId: 'unknownfn',
            RotationLambdaARN: `arn:aws:lambda:${sb.region}:${sb.accountId}:function:nope`,
          }),
        ),
      );
      expect(err.name).toBe('AccessDeniedException');
      expect(err.$metadata?.httpStatusCode).toBe(400);
      expect(err.message).toBe(
        'Secrets Manager cannot invoke the specified Lambda function. Ensure that the function policy grants access to the principal secretsmanager.amazonaws.com.',
      );
      const d = await sm.send(new DescribeSecretCommand({ SecretId: 'unknownfn' }));
      expect(d.RotationEnabled).toBeUndefined();
      expect(d.VersionIdsToStages).toEqual({ [T1]: ['AWSCURRENT'] });
    });

    it('rejects AutomaticallyAfterDays together with ScheduleExpression', async () => {
      await create('bothrules');
      const err = await rejection(
        sm.send(
          new RotateSecretCommand({
            SecretId: 'bothrules',
            RotationLambdaARN: fn(),
            RotationRules: { AutomaticallyAfterDays: 3, ScheduleExpression: 'rate(3 days)' },
          }),
        ),
      );
      expect(err.name).toBe('InvalidParameterException');
      expect(err.message).toBe(
        'You cannot specify both rotation frequency and schedule expression together.',
      );
    });

    it('rejects schedules more frequent than every 4 hours and days outside 1-1000', async () => {
      await create('badrules');
      const hourly = await rejection(
        sm.send(
          new RotateSecretCommand({
            SecretId: 'badrules',
            RotationLambdaARN: fn(),
            RotationRules: { ScheduleExpression: 'rate(2 hours)' },
          }),
        ),
      );
      expect(hourly.name).toBe('InvalidParameterException');
      expect(hourly.message).toBe(
        "Invalid ScheduleExpression 'rate(2 hours)': Secrets Manager rotates at most every 4 hours: use at least rate(4 hours).",
      );
      const days = await rejection(
        sm.send(
          new RotateSecretCommand({
            SecretId: 'badrules',
            RotationLambdaARN: fn(),
            RotationRules: { AutomaticallyAfterDays: 0 },
          }),
        ),
      );
      expect(days.name).toBe('InvalidParameterException');
      expect(days.message).toBe('RotationRules.AutomaticallyAfterDays must be within 1-1000.');
    });

    it('reports NextRotationDate as the end of the next cron window (Duration)', async () => {
      await create('cron');
      await sm.send(
        new RotateSecretCommand({
          SecretId: 'cron',
          RotationLambdaARN: fn(),
          RotationRules: { ScheduleExpression: 'cron(0 16 * * ? *)', Duration: '2h' },
        }),
      );
      const now = Date.parse((await control<{ now: string }>(sb, 'GET', 'clock')).now);
      const next16 = Math.floor(now / DAY) * DAY + 16 * 3_600_000 + (now % DAY >= 16 * 3_600_000 ? DAY : 0);
      const d = await sm.send(new DescribeSecretCommand({ SecretId: 'cron' }));
      expect(d.RotationEnabled).toBe(true);
      expect(d.RotationRules).toMatchObject({ ScheduleExpression: 'cron(0 16 * * ? *)', Duration: '2h' });
      expect(d.NextRotationDate?.getTime()).toBe(next16 + 2 * 3_600_000 - 1000);
      await sm.send(new CancelRotateSecretCommand({ SecretId: 'cron' }));
      await sb.settle();
    });

    it('rejects a raw request without ClientRequestToken with InvalidParameterException', async () => {
      await create('rawrotate');
      const raw = rawClient(({ ClientRequestToken: _, ...rest }) => JSON.stringify(rest));
      const err = await rejection(
        raw.send(new RotateSecretCommand({ SecretId: 'rawrotate', RotationLambdaARN: fn() })),
      );
      expect(err.name).toBe('InvalidParameterException');
      expect(err.message).toBe(
        'You must provide a ClientRequestToken value. We recommend a UUID-type value.',
      );
    });
  });

  describe('Authorisation and authentication', () => {
    it('lets an IAM user read only the secret its policy names, with AWS access-denied messages otherwise', async () => {
      const { ARN: allowed } = await create('team/allowed');
      const { ARN: other } = await create('team/other');
      const { secrets: user } = await userClients(sb, 'reader', [
        { Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: allowed },
      ]);
      expect((await user.send(new GetSecretValueCommand({ SecretId: 'team/allowed' }))).SecretString).toBe(
        'v1',
      );
      const denied = await rejection(user.send(new GetSecretValueCommand({ SecretId: 'team/other' })));
      expect(denied.name).toBe('AccessDeniedException');
      expect(denied.message).toBe(
        `User: arn:aws:iam::${sb.accountId}:user/reader is not authorized to perform: secretsmanager:GetSecretValue on resource: ${other} because no identity-based policy allows the secretsmanager:GetSecretValue action`,
      );
      const list = await rejection(user.send(new ListSecretsCommand({})));
      expect(list.message).toContain('secretsmanager:ListSecrets on resource: * because');
    });

    it('rejects a key the sandbox never issued with UnrecognizedClientException', async () => {
      const stranger = clients(sb, {
        credentials: { accessKeyId: 'AKIAAAAAAAAAAAAAAAAA', secretAccessKey: 'x'.repeat(40) },
      }).secrets;
      const err = await rejection(stranger.send(new ListSecretsCommand({})));
      expect(err.name).toBe('UnrecognizedClientException');
      expect(err.message).toBe('The security token included in the request is invalid.');
    });
  });

  describe('Malformed input', () => {
    it('answers a body that is not JSON with SerializationException and keeps serving', async () => {
      const raw = rawClient(() => '{not json');
      const err = await rejection(raw.send(new ListSecretsCommand({})));
      expect(err.name).toBe('SerializationException');
      expect(err.$metadata?.httpStatusCode).toBe(400);
      expect((await sm.send(new ListSecretsCommand({}))).SecretList).toEqual([]);
    });

    it('answers a member of the wrong type with SerializationException naming it', async () => {
      const raw = rawClient((body) => JSON.stringify({ ...body, SecretId: 42 }));
      const err = await rejection(raw.send(new DescribeSecretCommand({ SecretId: 'x' })));
      expect(err.name).toBe('SerializationException');
      expect(err.message).toBe('Member SecretId must be a string.');
    });

    it('answers a missing required member with ValidationException', async () => {
      const raw = rawClient(() => '{}');
      const err = await rejection(raw.send(new GetSecretValueCommand({ SecretId: 'x' })));
      expect(err.name).toBe('ValidationException');
      expect(err.message).toBe(
        "1 validation error detected: Value null at 'secretId' failed to satisfy constraint: Member must not be null",
      );
    });

    it('survives every operation called with garbage members', async () => {
      const garbage = {
        SecretId: [],
        Name: {},
        SecretString: 7,
        VersionStages: 'x',
        Tags: 'y',
        Filters: [1],
        RotationRules: 'z',
        MaxResults: 'a',
      };
      const raw = rawClient(() => JSON.stringify(garbage));
      for (const command of [
        new CreateSecretCommand({ Name: 'g' }),
        new PutSecretValueCommand({ SecretId: 'g' }),
        new ListSecretsCommand({}),
        new RotateSecretCommand({ SecretId: 'g' }),
        new TagResourceCommand({ SecretId: 'g', Tags: [] }),
      ]) {
        const err = await rejection(raw.send(command as never));
        expect(err.$metadata?.httpStatusCode).toBe(400);
      }
      expect((await sm.send(new ListSecretsCommand({}))).SecretList).toEqual([]);
    });
  });

  describe('Control plane: faults, state, persistence', () => {
    it('applies an afterEffect fault: the value is stored though the caller sees the error', async () => {
      await create('faulty', 'a', T1);
      await control(sb, 'POST', 'faults', {
        service: 'secretsmanager',
        operation: 'PutSecretValue',
        afterEffect: true,
        error: { status: 500, code: 'InternalServiceError', message: 'boom' },
      });
      const err = await rejection(
        sm.send(new PutSecretValueCommand({ SecretId: 'faulty', SecretString: 'b', ClientRequestToken: T2 })),
      );
      expect(err.name).toBe('InternalServiceError');
      expect((await sm.send(new GetSecretValueCommand({ SecretId: 'faulty' }))).VersionId).toBe(T2);
    });

    it('shows every secret with its versions and values in GET state', async () => {
      const { ARN } = await create('visible', 'shown', T1);
      const state = await control<{
        secretsmanager: {
          secrets: {
            arn: string;
            versions: { versionId: string; stages: string[]; secretString: string }[];
          }[];
        };
      }>(sb, 'GET', 'state');
      expect(state.secretsmanager.secrets).toEqual([
        expect.objectContaining({
          arn: ARN,
          versions: [
            expect.objectContaining({ versionId: T1, stages: ['AWSCURRENT'], secretString: 'shown' }),
          ],
        }),
      ]);
    });

    it('round-trips its state through JSON snapshot and restore', async () => {
      await create('persisted', 'a', T1);
      await sm.send(
        new PutSecretValueCommand({
          SecretId: 'persisted',
          SecretString: 'b',
          ClientRequestToken: T2,
          VersionStages: ['AWSPENDING'],
        }),
      );
      const module = sb.modules.find((m) => m.name === 'secretsmanager');
      const saved = JSON.parse(JSON.stringify(module?.snapshot()));
      await control(sb, 'POST', 'reset');
      expect((await rejection(sm.send(new DescribeSecretCommand({ SecretId: 'persisted' })))).name).toBe(
        'ResourceNotFoundException',
      );
      module?.restore(saved);
      expect(await stages('persisted')).toEqual({ [T1]: ['AWSCURRENT'], [T2]: ['AWSPENDING'] });
      expect(
        (await sm.send(new GetSecretValueCommand({ SecretId: 'persisted', VersionStage: 'AWSPENDING' })))
          .SecretString,
      ).toBe('b');
    });
  });
});
