import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CreateAccessKeyCommand,
  CreateUserCommand,
  GetUserCommand,
  ListAccessKeysCommand,
} from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { type RunningSandbox, startSandbox } from '@nvcf-ecr/sandbox';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { clients, control, rejection, withSandbox } from '../../helpers/sandbox.ts';
import { useTempDir } from '../../helpers/temp-dir.ts';

describe('Sandbox: control plane', () => {
  let sb: RunningSandbox;
  let admin: ReturnType<typeof clients>;

  beforeAll(async () => {
    sb = await withSandbox();
    admin = clients(sb);
  });
  afterAll(() => sb.close());
  beforeEach(async () => {
    await control(sb, 'POST', 'reset');
  });

  it('listens on 127.0.0.1 only', () => {
    for (const url of [sb.awsEndpoint, sb.registryEndpoint, sb.nvcfEndpoint, sb.controlEndpoint]) {
      expect(new URL(url).hostname).toBe('127.0.0.1');
    }
  });

  describe('faults', () => {
    it('fails one call with the given error, then lets calls through', async () => {
      await control(sb, 'POST', 'faults', {
        service: 'iam',
        operation: 'CreateUser',
        error: { status: 400, code: 'Throttling', message: 'Rate exceeded' },
      });
      const err = await rejection(admin.iam.send(new CreateUserCommand({ UserName: 'a' })));
      expect(err.name).toBe('Throttling');
      expect(err.message).toBe('Rate exceeded');
      await expect(admin.iam.send(new CreateUserCommand({ UserName: 'a' }))).resolves.toBeDefined();
    });

    it('skips the first N matching calls and fires `times` times', async () => {
      await control(sb, 'POST', 'faults', {
        service: 'sts',
        operation: 'GetCallerIdentity',
        skip: 1,
        times: 2,
        error: { status: 500, code: 'ServiceFailure', message: 'boom' },
      });
      await expect(admin.sts.send(new GetCallerIdentityCommand({}))).resolves.toBeDefined();
      expect(
        (await rejection(admin.sts.send(new GetCallerIdentityCommand({})))).$metadata?.httpStatusCode,
      ).toBe(500);
      expect(
        (await rejection(admin.sts.send(new GetCallerIdentityCommand({})))).$metadata?.httpStatusCode,
      ).toBe(500);
      await expect(admin.sts.send(new GetCallerIdentityCommand({}))).resolves.toBeDefined();
    });

    it('with afterEffect applies the call and then fails it', async () => {
      await control(sb, 'POST', 'faults', {
        service: 'iam',
        operation: 'CreateUser',
        afterEffect: true,
        error: { status: 500, code: 'ServiceFailure', message: 'lost answer' },
      });
      const err = await rejection(admin.iam.send(new CreateUserCommand({ UserName: 'ghost-writer' })));
      expect(err.message).toBe('lost answer');
      const user = await admin.iam.send(new GetUserCommand({ UserName: 'ghost-writer' }));
      expect(user.User?.UserName).toBe('ghost-writer');
    });

    it('delays a call by delayMs', async () => {
      await control(sb, 'POST', 'faults', { service: 'sts', operation: '*', delayMs: 300 });
      const started = Date.now();
      await admin.sts.send(new GetCallerIdentityCommand({}));
      expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    });

    it('rejects invalid rules with a message naming the field', async () => {
      await expect(
        control(sb, 'POST', 'faults', { service: 'dynamo', operation: 'x', delayMs: 1 }),
      ).rejects.toThrow(/faults\[0\]: service must be one of/);
      await expect(control(sb, 'POST', 'faults', { service: 'iam', operation: 'x' })).rejects.toThrow(
        /give an error, a delayMs, or both/,
      );
      await expect(
        control(sb, 'POST', 'faults', { service: 'iam', operation: 'x', afterEffect: true, delayMs: 5 }),
      ).rejects.toThrow(/afterEffect needs an error/);
    });

    it('DELETE faults clears every rule', async () => {
      await control(sb, 'POST', 'faults', {
        service: 'sts',
        operation: '*',
        times: 5,
        error: { status: 500, message: 'x' },
      });
      await control(sb, 'DELETE', 'faults');
      await expect(admin.sts.send(new GetCallerIdentityCommand({}))).resolves.toBeDefined();
    });
  });

  describe('clock', () => {
    it('advances virtual time, which dates new resources', async () => {
      const before = await control<{ now: string; offsetSeconds: number }>(sb, 'GET', 'clock');
      const after = await control<{ now: string; offsetSeconds: number }>(sb, 'POST', 'clock', {
        advanceSeconds: 86_400 * 91,
      });
      expect(after.offsetSeconds - before.offsetSeconds).toBe(86_400 * 91);
      expect(Date.parse(after.now) - Date.parse(before.now)).toBeGreaterThanOrEqual(86_400 * 91 * 1000);
      const { User } = await admin.iam.send(new CreateUserCommand({ UserName: 'future' }));
      expect((User?.CreateDate?.getTime() ?? 0) - Date.now()).toBeGreaterThan(86_400 * 90 * 1000);
    });

    it('refuses to go backwards', async () => {
      await expect(control(sb, 'POST', 'clock', { advanceSeconds: -1 })).rejects.toThrow(
        /advanceSeconds must be a non-negative number/,
      );
    });
  });

  it('logs every answered call, with faults marked, and tells observers', async () => {
    const seen: string[] = [];
    const stop = sb.onCall((c) => seen.push(`${c.service}.${c.operation}:${c.status}`));
    await control(sb, 'POST', 'faults', {
      service: 'sts',
      operation: 'GetCallerIdentity',
      error: { status: 503, code: 'ServiceUnavailable', message: 'x' },
    });
    await rejection(admin.sts.send(new GetCallerIdentityCommand({})));
    await admin.sts.send(new GetCallerIdentityCommand({}));
    stop();
    await admin.sts.send(new GetCallerIdentityCommand({}));
    expect(seen).toEqual(['sts.GetCallerIdentity:503', 'sts.GetCallerIdentity:200']);
    const { calls } = await control<{
      calls: { service: string; status: number; fault: boolean; accessKeyId: string }[];
    }>(sb, 'GET', 'calls?service=sts');
    expect(calls.map((c) => [c.status, c.fault])).toEqual([
      [503, true],
      [200, false],
      [200, false],
    ]);
    expect(calls[0]?.accessKeyId).toBe(sb.accessKeyId);
  });

  it('settle returns when nothing is in flight', async () => {
    const r = await control<{ settled: boolean; inFlight: number }>(sb, 'POST', 'settle');
    expect(r).toEqual({ settled: true, inFlight: 0 });
  });

  it('GET state shows IAM users with their keys (test-only view)', async () => {
    await admin.iam.send(new CreateUserCommand({ UserName: 'seen' }));
    const { AccessKey } = await admin.iam.send(new CreateAccessKeyCommand({ UserName: 'seen' }));
    const state = await control<{
      accountId: string;
      iam: { users: { userName: string; keys: { accessKeyId: string }[] }[] };
    }>(sb, 'GET', 'state');
    expect(state.accountId).toBe(sb.accountId);
    const user = state.iam.users.find((u) => u.userName === 'seen');
    expect(user?.keys.map((k) => k.accessKeyId)).toEqual([AccessKey?.AccessKeyId]);
  });

  it('reset forgets everything', async () => {
    await admin.iam.send(new CreateUserCommand({ UserName: 'temp' }));
    await control(sb, 'POST', 'reset');
    expect((await rejection(admin.iam.send(new GetUserCommand({ UserName: 'temp' })))).name).toBe(
      'NoSuchEntityException',
    );
  });

  it('answers unknown routes with 404 listing the routes', async () => {
    const res = await fetch(`${sb.controlEndpoint}/_sandbox/nope`);
    expect(res.status).toBe(404);
    const body = (await res.json()) as { routes: string[] };
    expect(body.routes).toContain('POST faults');
  });
});

describe('Sandbox: persistence', () => {
  const dir = useTempDir('nvcf-ecr-state-');

  it('restores IAM state, keys and the admin key from the state file, written atomically', async () => {
    const statePath = join(dir(), 'state.json');
    const first = await startSandbox({ statePath });
    const admin = clients(first);
    await admin.iam.send(new CreateUserCommand({ UserName: 'kept' }));
    const { AccessKey } = await admin.iam.send(new CreateAccessKeyCommand({ UserName: 'kept' }));
    await first.close();

    const files = await readdir(dir());
    expect(files).toEqual(['state.json']);
    const saved = JSON.parse(await readFile(statePath, 'utf8')) as { version: number; accountId: string };
    expect(saved.version).toBe(1);

    const second = await startSandbox({ statePath });
    try {
      expect(second.accessKeyId).toBe(first.accessKeyId);
      const keys = await clients(second).iam.send(new ListAccessKeysCommand({ UserName: 'kept' }));
      expect(keys.AccessKeyMetadata?.map((k) => k.AccessKeyId)).toEqual([AccessKey?.AccessKeyId]);
    } finally {
      await second.close();
    }
  });

  it('refuses a state file that is not JSON with a clear message', async () => {
    const statePath = join(dir(), 'broken.json');
    await import('node:fs/promises').then((fs) => fs.writeFile(statePath, '{"version":'));
    await expect(startSandbox({ statePath })).rejects.toThrow(
      `state file ${statePath} is not valid JSON; move it away to start fresh`,
    );
  });
});
