import {
  type AccessKeyInfo,
  type ClassifiedKey,
  classifyKeys,
  graceEndsAt,
  planRoom,
  type RoomInput,
  type StoredValue,
} from '@nvcf-ecr/core/rotation';
import { describe, expect, it } from 'vitest';

const HOUR = 3_600_000;
const T0 = Date.parse('2026-03-01T12:00:00.000Z');
const at = (ms: number) => new Date(T0 + ms);

// Key ids of the IAM shape (AKIA + 16); none is a real key.
const K_CURRENT = 'AKIACURRENT000000001';
const K_PREVIOUS = 'AKIAPREVIOUS00000002';
const K_OLD = 'AKIASUPERSEDED000003';
const K_OTHER = 'AKIAHANDMADE00000004';

function stored(versionId: string, accessKeyId: string, createdAtMs: number): StoredValue {
  return {
    versionId,
    createdDate: at(createdAtMs),
    value: {
      kind: 'key',
      accessKeyId,
      secretAccessKey: 'x'.repeat(40),
      userName: 'u',
      registryHostname: 'h',
      credentialName: 'c',
      createdAt: at(createdAtMs).toISOString(),
    },
  };
}

const key = (accessKeyId: string, createdMs: number, status = 'Active'): AccessKeyInfo => ({
  accessKeyId,
  status,
  createDate: at(createdMs),
});

describe('Function: classifyKeys', () => {
  it('names the keys of the current, pending, previous and older versions', () => {
    const roles = classifyKeys(
      [key(K_CURRENT, 0), key(K_PREVIOUS, -HOUR), key(K_OLD, -2 * HOUR), key(K_OTHER, -3 * HOUR)],
      {
        current: stored('v-cur', K_CURRENT, 0),
        previous: stored('v-prev', K_PREVIOUS, -HOUR),
        superseded: new Map([[K_OLD, 'v-old']]),
      },
    ).map((k) => [k.accessKeyId, k.role, k.versionId]);
    expect(roles).toEqual([
      [K_CURRENT, 'current', 'v-cur'],
      [K_PREVIOUS, 'previous', 'v-prev'],
      [K_OLD, 'superseded', 'v-old'],
      [K_OTHER, 'unmanaged', undefined],
    ]);
  });

  it('takes a key created after the intent marker of a token that stored nothing for that attempt’s orphan', () => {
    // IAM reports CreateDate to the second: a key created 400 ms after a marker at .700 reads as the marker's
    // own second, and still counts as created after it.
    const marker = { token: 'tok-2', at: new Date(T0 + 700) };
    const [orphan] = classifyKeys([{ accessKeyId: K_OTHER, status: 'Active', createDate: new Date(T0) }], {
      superseded: new Map(),
      intent: marker,
    });
    expect(orphan?.role).toBe('orphan');
  });

  it('never takes a key created before the marker’s second for an orphan: it is unmanaged', () => {
    const [k] = classifyKeys([key(K_OTHER, -1000)], {
      superseded: new Map(),
      intent: { token: 'tok-2', at: at(700) },
    });
    expect(k?.role).toBe('unmanaged');
  });

  it('takes a second key created while the marker’s token stored another (a retried CreateAccessKey) for an orphan', () => {
    const storedByToken = stored('tok-2', K_CURRENT, 2000);
    const roles = classifyKeys([key(K_CURRENT, 1000), key(K_OTHER, 1000)], {
      current: storedByToken,
      superseded: new Map(),
      intent: { token: 'tok-2', at: at(500) },
      intentValue: storedByToken,
    }).map((k) => k.role);
    expect(roles).toEqual(['current', 'orphan']);
  });

  it('never takes a key created more than a minute after the marker for an orphan: it is unmanaged', () => {
    // An attempt that died before CreateAccessKey answered (denied, throttled past its retries, a crash) left its
    // marker behind: a key made by hand minutes later is not that attempt's.
    const [k] = classifyKeys([key(K_OTHER, 2 * 60_000)], {
      superseded: new Map(),
      intent: { token: 'tok-2', at: at(0) },
    });
    expect(k?.role).toBe('unmanaged');
  });

  it('takes a key created after the marker’s token stored its value for an unmanaged key', () => {
    const storedByToken = stored('tok-2', K_CURRENT, 2000);
    const [, other] = classifyKeys([key(K_CURRENT, 1000), key(K_OTHER, 60_000)], {
      current: storedByToken,
      superseded: new Map(),
      intent: { token: 'tok-2', at: at(500) },
      intentValue: storedByToken,
    });
    expect(other?.role).toBe('unmanaged');
  });
});

const classified = (accessKeyId: string, role: ClassifiedKey['role'], status = 'Active'): ClassifiedKey => ({
  ...key(accessKeyId, -10 * HOUR, status),
  role,
});

function input(overrides: Partial<RoomInput>): RoomInput {
  return {
    keys: [classified(K_CURRENT, 'current'), classified(K_PREVIOUS, 'previous')],
    force: false,
    now: at(0),
    graceEndsAt: at(-HOUR),
    lastUsed: new Map(),
    currentKeyActive: true,
    registryName: 'prod',
    userName: 'nvcf-ecr-prod',
    keyLimit: 2,
    graceHours: 24,
    nvcf: { kind: 'current', since: at(-30 * HOUR) },
    ...overrides,
  };
}

describe('Function: planRoom', () => {
  it('needs nothing while the user has fewer keys than the limit', () => {
    expect(planRoom(input({ keys: [classified(K_CURRENT, 'current')] }))).toEqual({ kind: 'room' });
  });

  it('deletes an Inactive previous key (retired: nothing can use it)', () => {
    const plan = planRoom(
      input({
        keys: [classified(K_CURRENT, 'current'), classified(K_PREVIOUS, 'previous', 'Inactive')],
        graceEndsAt: at(HOUR),
      }),
    );
    expect(plan).toMatchObject({
      kind: 'delete',
      key: { accessKeyId: K_PREVIOUS },
      reason: 'the previous key is Inactive',
    });
  });

  it('deletes an Active previous key past its grace period and unused for the in-use window (6 h)', () => {
    const plan = planRoom(input({ lastUsed: new Map([[K_PREVIOUS, at(-6 * HOUR)]]) }));
    expect(plan).toMatchObject({
      kind: 'delete',
      key: { accessKeyId: K_PREVIOUS },
      reason: 'the previous key is past its grace period and unused for 6 h',
    });
  });

  it('refuses a key last used 5 hours ago: a use inside IAM’s 4-hour last-used lag may not show yet', () => {
    const plan = planRoom(input({ lastUsed: new Map([[K_PREVIOUS, at(-5 * HOUR)]]) }));
    expect(plan).toMatchObject({ kind: 'refuse', code: 'in-use' });
    expect(plan.kind === 'refuse' && plan.reason).toContain('Rotate again after 2026-03-01T13:00:00.000Z');
  });

  it('refuses while the previous key is inside its grace period, naming it masked and the way out', () => {
    const plan = planRoom(input({ graceEndsAt: at(HOUR) }));
    expect(plan.kind).toBe('refuse');
    if (plan.kind !== 'refuse') return;
    expect(plan.code).toBe('in-grace');
    expect(plan.reason).toContain(
      'The previous key AKIA…0002 of IAM user nvcf-ecr-prod is inside its grace period until 2026-03-01T13:00:00.000Z',
    );
    expect(plan.reason).toContain("'nvcf-ecr rotate prod --force'");
    expect(plan.reason).not.toContain(K_PREVIOUS);
  });

  it('refuses while the candidate was used within the in-use window', () => {
    const plan = planRoom(input({ lastUsed: new Map([[K_PREVIOUS, at(-10 * 60_000)]]) }));
    expect(plan).toMatchObject({ kind: 'refuse', code: 'in-use' });
    expect(plan.kind === 'refuse' && plan.reason).toContain(
      "was used at 2026-03-01T11:50:00.000Z, within the last 6 h (workload refresh + IAM's last-used lag + margin)",
    );
  });

  it('deletes the previous key inside its grace period when forced and unused', () => {
    const plan = planRoom(input({ force: true, graceEndsAt: at(HOUR) }));
    expect(plan).toMatchObject({
      kind: 'delete',
      key: { accessKeyId: K_PREVIOUS },
      reason: 'forced rotation: the previous key goes to make room',
    });
  });

  it('never deletes a key in use, forced or not', () => {
    const plan = planRoom(
      input({ force: true, graceEndsAt: at(HOUR), lastUsed: new Map([[K_PREVIOUS, at(-1000)]]) }),
    );
    expect(plan).toMatchObject({ kind: 'refuse', code: 'in-use' });
  });

  it('gives a superseded key the grace period, counted from NVCF being pointed back at the current key', () => {
    const keys = [classified(K_CURRENT, 'current'), classified(K_OLD, 'superseded')];
    const plan = planRoom(input({ keys, nvcf: { kind: 'current', since: at(-2 * HOUR) } }));
    expect(plan).toMatchObject({ kind: 'refuse', code: 'in-grace' });
    expect(plan.kind === 'refuse' && plan.reason).toContain(
      'The superseded key AKIA…0003 of IAM user nvcf-ecr-prod is inside its grace period until 2026-03-02T10:00:00.000Z',
    );
    expect(planRoom(input({ keys, nvcf: { kind: 'current', since: at(-25 * HOUR) } }))).toMatchObject({
      kind: 'delete',
      key: { accessKeyId: K_OLD },
    });
  });

  it('refuses, naming the key, when the only other key is not the rotation’s — even when forced', () => {
    const plan = planRoom(
      input({ force: true, keys: [classified(K_CURRENT, 'current'), classified(K_OTHER, 'unmanaged')] }),
    );
    expect(plan).toMatchObject({ kind: 'refuse', code: 'unmanaged' });
    expect(plan.kind === 'refuse' && plan.reason).toContain(
      'key AKIA…0004 (Active, created 2026-03-01T02:00:00.000Z) is in no version of the secret',
    );
    expect(plan.kind === 'refuse' && plan.reason).toContain('Nothing was deleted');
  });

  it('prefers an Inactive superseded key to an Active previous one', () => {
    const plan = planRoom(
      input({
        keyLimit: 2,
        keys: [classified(K_PREVIOUS, 'previous'), classified(K_OLD, 'superseded', 'Inactive')],
        currentKeyActive: true,
      }),
    );
    expect(plan).toMatchObject({ kind: 'delete', key: { accessKeyId: K_OLD } });
  });

  it('says the last use may be the rotation’s own checks or NVCF’s, and what to do', () => {
    const plan = planRoom(
      input({
        keys: [classified(K_CURRENT, 'current'), classified(K_OLD, 'superseded')],
        lastUsed: new Map([[K_OLD, at(-10 * 60_000)]]),
      }),
    );
    expect(plan).toMatchObject({ kind: 'refuse', code: 'in-use' });
    const reason = plan.kind === 'refuse' ? plan.reason : '';
    expect(reason).toContain(
      'Key AKIA…0003 of IAM user nvcf-ecr-prod (superseded) was used at 2026-03-01T11:50:00.000Z',
    );
    expect(reason).toContain('the rotation that created it proved it');
    expect(reason).toContain('NVCF checks a key with ECR');
    expect(reason).toContain('Rotate again after 2026-03-01T17:50:00.000Z');
    expect(reason).not.toContain('something still pulls with it');
  });

  it('does not delete an Active key a running workload may still hold (NVCF’s caches + the hourly refresh after NVCF moved off it)', () => {
    const plan = planRoom(
      input({
        lastUsed: new Map([[K_PREVIOUS, at(-7 * HOUR)]]),
        nvcf: { kind: 'current', since: at(-4 * 60_000) },
      }),
    );
    expect(plan).toMatchObject({ kind: 'refuse', code: 'nvcf-cache' });
    const reason = plan.kind === 'refuse' ? plan.reason : '';
    expect(reason).toContain('NVCF was pointed at the current key at 2026-03-01T11:56:00.000Z');
    expect(reason).toContain('until 2026-03-01T13:06:00.000Z');
    expect(reason).toContain(
      'Key AKIA…0002 (previous) is not deleted before then, forced or not. Nothing was deleted.',
    );
  });

  it('keeps to NVCF’s cache lifetime when forced, too', () => {
    const plan = planRoom(
      input({ force: true, graceEndsAt: at(HOUR), nvcf: { kind: 'current', since: at(-60_000) } }),
    );
    expect(plan).toMatchObject({ kind: 'refuse', code: 'nvcf-cache' });
  });

  it('deletes an Active key once NVCF has held the current key for 70 minutes, or has no credential at all', () => {
    const unused = new Map([[K_PREVIOUS, at(-7 * HOUR)]]);
    expect(
      planRoom(input({ lastUsed: unused, nvcf: { kind: 'current', since: at(-70 * 60_000) } })),
    ).toMatchObject({ kind: 'delete', key: { accessKeyId: K_PREVIOUS } });
    expect(planRoom(input({ lastUsed: unused, nvcf: { kind: 'absent' } }))).toMatchObject({
      kind: 'delete',
      key: { accessKeyId: K_PREVIOUS },
    });
  });

  it('deletes an Inactive key right after NVCF moved off it: a cached copy fails already', () => {
    const plan = planRoom(
      input({
        keys: [classified(K_CURRENT, 'current'), classified(K_OLD, 'superseded', 'Inactive')],
        nvcf: { kind: 'current', since: at(0) },
      }),
    );
    expect(plan).toMatchObject({ kind: 'delete', key: { accessKeyId: K_OLD } });
  });

  it('counts from now when NVCF may hold another key: the rotation points it at the current key first', () => {
    const plan = planRoom(
      input({
        force: true,
        keys: [classified(K_CURRENT, 'current'), classified(K_OLD, 'superseded')],
        lastUsed: new Map([[K_OLD, at(-7 * HOUR)]]),
        nvcf: { kind: 'unknown' },
      }),
    );
    expect(plan).toMatchObject({ kind: 'refuse', code: 'nvcf-cache' });
    expect(plan.kind === 'refuse' && plan.reason).toContain('until 2026-03-01T13:10:00.000Z');
  });

  it('refuses to delete without a working current key to point NVCF at first', () => {
    const plan = planRoom(
      input({
        currentKeyActive: false,
        keys: [classified(K_CURRENT, 'current', 'Inactive'), classified(K_PREVIOUS, 'previous', 'Inactive')],
      }),
    );
    expect(plan).toMatchObject({ kind: 'refuse', code: 'no-working-current-key' });
  });
});

describe('Function: graceEndsAt', () => {
  it('counts the grace period from the later of LastRotatedDate and the current version’s creation', () => {
    const current = stored('v', K_CURRENT, 0);
    expect(graceEndsAt(at(5000), current, 24)).toEqual(at(5000 + 24 * HOUR));
    expect(graceEndsAt(at(-5000), current, 24)).toEqual(at(24 * HOUR));
  });

  it('is undefined without any date', () => {
    expect(graceEndsAt(undefined, undefined, 24)).toBeUndefined();
  });
});
