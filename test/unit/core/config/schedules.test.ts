import { type ConfigInput, parseConfig } from '@nvcf-ecr/core/config';
import { describe, expect, it } from 'vitest';

// Schedules EventBridge and Secrets Manager would refuse, refused at synth with the field and the fix: a
// deploy must not fail half-way on them (or, for a rotation window, on the first schedule change).

const HOST = '123456789012.dkr.ecr.us-east-1.amazonaws.com';

function issues(rotation: Record<string, unknown>, audit: Record<string, unknown> = {}) {
  const input = {
    ngc: {},
    registries: [
      { name: 'prod', hostname: HOST, repositories: ['inference'], credentialName: 'ecr-prod', rotation },
    ],
    audit,
  } as ConfigInput;
  const r = parseConfig(input);
  return r.ok ? [] : r.issues;
}

describe('Configuration: schedules', () => {
  it("refuses a cron without '?' in exactly one day field (EventBridge's rule), in the audit and the rotation", () => {
    expect(issues({}, { schedule: 'cron(0 6 * * * *)' })).toEqual([
      {
        path: 'audit.schedule',
        message:
          "use '?' in exactly one of day-of-month (*) and day-of-week (*), e.g. 'cron(0 6 * * ? *)' or 'cron(0 4 ? * MON *)'",
      },
    ]);
    expect(issues({}, { schedule: 'cron(0 6 ? * ? *)' })).toHaveLength(1);
    expect(issues({ schedule: 'cron(0 4 1 * MON *)' })).toEqual([
      expect.objectContaining({ path: 'registries[0].rotation.schedule' }),
    ]);
    expect(issues({ schedule: 'cron(0 4 ? * MON *)' }, { schedule: 'cron(0 6 * * ? *)' })).toEqual([]);
  });

  it('refuses a cron without six fields in either schedule, and a rotation cron Secrets Manager would refuse', () => {
    const sixFields =
      'cron expressions have 6 fields (minutes hours day-of-month month day-of-week year), got 4';
    expect(issues({ schedule: 'cron(0 4 * *)' }, { schedule: 'cron(0 6 * *)' })).toEqual([
      { path: 'registries[0].rotation.schedule', message: sixFields },
      { path: 'audit.schedule', message: sixFields },
    ]);
    expect(issues({ schedule: 'cron(30 4 ? * MON *)' })).toEqual([
      {
        path: 'registries[0].rotation.schedule',
        message: 'Secrets Manager cron schedules must use 0 for minutes',
      },
    ]);
    expect(issues({ schedule: 'cron(0 4 ? * MON 2027)' })).toEqual([
      {
        path: 'registries[0].rotation.schedule',
        message: 'Secrets Manager cron schedules must use * for the year',
      },
    ]);
    // EventBridge takes any minute and year.
    expect(issues({}, { schedule: 'cron(30 6 ? * MON 2027)' })).toEqual([]);
  });

  it('refuses a rotation window that would run into the next window or the next UTC day', () => {
    expect(issues({ schedule: 'rate(4 hours)', window: '6h', graceHours: 1 })).toEqual([
      {
        path: 'registries[0].rotation.window',
        message: "a 6h window would run into the next rotation window (every 4 hours): use at most '4h'",
      },
    ]);
    expect(issues({ schedule: 'cron(0 22 ? * MON *)', window: '3h' })).toEqual([
      {
        path: 'registries[0].rotation.window',
        message:
          "a 3h window opening at 22:00 UTC would run into the next UTC day: use at most '2h', or an earlier hour",
      },
    ]);
    // A rate in days opens at midnight: any window up to 24h fits.
    expect(issues({ schedule: 'rate(30 days)', window: '24h' })).toEqual([]);
    expect(issues({ schedule: 'cron(0 20 ? * MON *)', window: '4h' })).toEqual([]);
  });
});
