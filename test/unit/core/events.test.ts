import { assertConfig } from '@nvcf-ecr/core/config';
import { EventPatternError, ScheduleExpressionError } from '@nvcf-ecr/core/errors';
import {
  assertScheduleExpression,
  compileEventPattern,
  DETAIL_TYPES,
  EVENT_SOURCE,
  ecrPushRulePattern,
  matchesEventPattern,
  nextScheduleTime,
  notificationPatterns,
  parseEventPattern,
  parseScheduleExpression,
} from '@nvcf-ecr/core/events';
import { describe, expect, it } from 'vitest';
import { AWS_PUSH_SAMPLE } from '../../helpers/events.ts';
import { expectThrow } from './expect-error.ts';

// Events from the EventBridge user guide and Event Ruler's README (aws/event-ruler), used as given there.
const EC2_EVENT = {
  version: '0',
  id: 'ddddd4-aaaa-7777-4444-345dd43cc333',
  'detail-type': 'EC2 Instance State-change Notification',
  source: 'aws.ec2',
  account: '012345679012',
  time: '2017-10-02T16:24:49Z',
  region: 'us-east-1',
  resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000'],
  detail: {
    'c-count': 5,
    'd-count': 3,
    'x-limit': 301.8,
    'source-ip': '10.0.0.33',
    'instance-id': 'i-000000aaaaaa00000',
    state: 'running',
  },
};

// https://docs.aws.amazon.com/AmazonECR/latest/userguide/ecr-eventbridge.html: the official push sample (digest
// completed to 64 hex characters), and the real SOCI events of awslabs/cfn-ecr-aws-soci-index-builder#137.
const PUSH_SAMPLE = {
  ...AWS_PUSH_SAMPLE,
  detail: {
    ...AWS_PUSH_SAMPLE.detail,
    'repository-name': 'inference',
    'image-digest': 'sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd12340000',
  },
};
const SOCI_UNTAGGED_CHILD = {
  ...PUSH_SAMPLE,
  detail: {
    result: 'SUCCESS',
    'repository-name': 'inference',
    'image-digest': 'sha256:2c2c0c11d801b86cfd661f214721d7a40c5368dc3c5777dd7c5f3f37860d4f4d',
    'action-type': 'PUSH',
    'artifact-media-type': 'application/vnd.oci.image.config.v1+json',
    'image-tag': '',
    'manifest-media-type': 'application/vnd.oci.image.manifest.v1+json',
  },
};
const ARCHIVE_SAMPLE = {
  ...PUSH_SAMPLE,
  detail: {
    'action-type': 'UPDATE_STORAGE_CLASS',
    'target-storage-class': 'ARCHIVE',
    'image-digest': 'sha256:f98d67af8e53a536502bfc600de3266556b06ed635a32d60aa7a5fe6d7e609d7',
    'repository-name': 'inference',
    result: 'SUCCESS',
  },
};

/** The user guide's complex example pattern (every kind of content filter on one event). */
const GUIDE_COMPLEX_PATTERN = {
  time: [{ prefix: '2017-10-02' }],
  detail: {
    state: [{ 'anything-but': 'initializing' }],
    'c-count': [{ numeric: ['>', 0, '<=', 5] }],
    'd-count': [{ numeric: ['<', 10] }],
    'x-limit': [{ 'anything-but': [100, 200, 300] }],
    'source-ip': [{ cidr: '10.0.0.0/8' }],
  },
};

function config(registries: Record<string, unknown>[]) {
  return assertConfig({ ngc: { apiKeySecretName: 'nvcf-ecr/ngc-api-key' }, registries });
}

const PROD = {
  name: 'prod',
  hostname: '123456789012.dkr.ecr.us-west-2.amazonaws.com',
  repositories: ['inference', 'tools'],
  credentialName: 'ecr-prod',
};

function reason(input: string | Record<string, unknown>): string | undefined {
  const r = parseEventPattern(input);
  return r.ok ? undefined : r.reason;
}

describe('Function: parseEventPattern', () => {
  it('rejects text that is not JSON with the reason EventBridge gives', () => {
    expect(reason('{bad')).toBe('Invalid JSON');
  });

  it('rejects a pattern that is not an object', () => {
    expect(reason('["aws.ecr"]')).toBe('Filter is not an object');
  });

  it('rejects a field holding a bare value, naming the field', () => {
    expect(reason({ source: 'aws.ecr' })).toBe('"source" must be an object or an array');
  });

  it('rejects an empty list of values', () => {
    expect(reason({ source: [] })).toBe('Empty arrays are not allowed: "source"');
  });

  it('rejects an unknown operator, naming it', () => {
    expect(reason({ source: [{ contains: 'ecr' }] })).toBe('Unrecognized match type contains: "source"');
  });

  it('rejects a matcher with two operators', () => {
    expect(reason({ source: [{ prefix: 'aws.', suffix: 'ecr' }] })).toBe(
      'Only one key allowed in match expression: "source"',
    );
  });

  it('rejects a nested list as a value', () => {
    expect(reason({ source: [['aws.ecr']] })).toBe(
      'Match value must be String, number, true, false, or null: "source"',
    );
  });

  it('rejects numeric ranges that are not numbers, out of range, reversed or malformed', () => {
    expect(reason({ n: [{ numeric: ['>', 'zero'] }] })).toBe('Value of > must be numeric: "n"');
    expect(reason({ n: [{ numeric: ['>', 6e9] }] })).toBe(
      'Value of > must be between -5.0E9 and 5.0E9 inclusive: "n"',
    );
    expect(reason({ n: [{ numeric: ['>', 5, '<', 1] }] })).toBe(
      'Bad numeric range: bottom must be less than top: "n"',
    );
    expect(reason({ n: [{ numeric: ['<', 5, '>', 1] }] })).toMatch(
      /^Bad numeric range: a range is a lower bound/,
    );
    expect(reason({ n: [{ numeric: ['~', 5] }] })).toBe('Unrecognized numeric range operator: ~: "n"');
    expect(reason({ n: [{ numeric: ['>'] }] })).toMatch(/^Value of numeric must be an array of one or two/);
  });

  it('rejects exists with a value other than true or false', () => {
    expect(reason({ n: [{ exists: 'yes' }] })).toBe('exists match pattern must be either true or false: "n"');
  });

  it('rejects an anything-but list mixing strings and numbers', () => {
    expect(reason({ n: [{ 'anything-but': ['a', 1] }] })).toMatch(/^Inside anything but list, mixed types/);
  });

  it('rejects consecutive wildcards and escapes of other characters', () => {
    expect(reason({ n: [{ wildcard: 'a**b' }] })).toBe(
      'Consecutive wildcard characters at pos 2 of wildcard pattern: "n"',
    );
    expect(reason({ n: [{ wildcard: 'a\\b' }] })).toBe(
      'Invalid escape character at pos 1 of wildcard pattern: "n"',
    );
  });

  it('rejects a cidr that is not an IP network', () => {
    expect(reason({ ip: [{ cidr: '10.0.0.0/33' }] })).toBe('Nonstandard IP address: 10.0.0.0/33: "ip"');
    expect(reason({ ip: [{ cidr: 'example.com/8' }] })).toBe('Nonstandard IP address: example.com/8: "ip"');
  });

  it('accepts every pattern of the user guide and Event Ruler examples', () => {
    expect(reason(GUIDE_COMPLEX_PATTERN)).toBeUndefined();
  });
});

describe('Function: compileEventPattern', () => {
  it('throws EventPatternError carrying the reason when the pattern is invalid', () => {
    const err = expectThrow(
      () => compileEventPattern({ source: 'aws.ecr' }),
      EventPatternError,
      'Event pattern is not valid',
    );
    expect(err.reason).toBe('"source" must be an object or an array');
  });
});

describe('Function: matchesEventPattern', () => {
  it('matches when every field matches one of its values (Event Ruler "Simple matching")', () => {
    const pattern = {
      'detail-type': ['EC2 Instance State-change Notification'],
      resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000'],
      detail: { state: ['initializing', 'running'] },
    };
    expect(matchesEventPattern(pattern, EC2_EVENT)).toBe(true);
    expect(
      matchesEventPattern(pattern, { ...EC2_EVENT, detail: { ...EC2_EVENT.detail, state: 'stopped' } }),
    ).toBe(false);
  });

  it('matches the complex example of the user guide and fails it when one field differs', () => {
    expect(matchesEventPattern(GUIDE_COMPLEX_PATTERN, EC2_EVENT)).toBe(true);
    expect(
      matchesEventPattern(GUIDE_COMPLEX_PATTERN, {
        ...EC2_EVENT,
        detail: { ...EC2_EVENT.detail, 'c-count': 6 },
      }),
    ).toBe(false);
  });

  it('compares numbers numerically: = 3.018e2 matches 301.8', () => {
    expect(matchesEventPattern({ detail: { 'x-limit': [{ numeric: ['=', 3.018e2] }] } }, EC2_EVENT)).toBe(
      true,
    );
    expect(matchesEventPattern({ n: [300] }, { n: 3e2 })).toBe(true);
  });

  it('never matches a string with a number or a number with a string', () => {
    expect(matchesEventPattern({ n: ['5'] }, { n: 5 })).toBe(false);
    expect(matchesEventPattern({ n: [5] }, { n: '5' })).toBe(false);
    expect(matchesEventPattern({ n: [{ numeric: ['>', 1] }] }, { n: '5' })).toBe(false);
  });

  it('matches booleans, null and the empty string as distinct values (user guide, null values)', () => {
    expect(matchesEventPattern({ d: { responseElements: [null] } }, { d: { responseElements: null } })).toBe(
      true,
    );
    expect(matchesEventPattern({ d: { eventVersion: [''] } }, { d: { eventVersion: '' } })).toBe(true);
    expect(matchesEventPattern({ d: { eventVersion: [''] } }, { d: { eventVersion: null } })).toBe(false);
    expect(matchesEventPattern({ d: { ok: [true] } }, { d: { ok: true } })).toBe(true);
    expect(matchesEventPattern({ d: { ok: [true] } }, { d: { ok: 'true' } })).toBe(false);
  });

  it('matches an event array when any element matches', () => {
    expect(matchesEventPattern({ resources: ['b'] }, { resources: ['a', 'b'] })).toBe(true);
    expect(matchesEventPattern({ resources: ['c'] }, { resources: ['a', 'b'] })).toBe(false);
  });

  it('keeps the fields of one object pattern within one array element (array-consistent matching)', () => {
    const event = {
      employees: [
        [
          { firstName: 'John', lastName: 'Doe' },
          { firstName: 'Anna', lastName: 'Smith' },
        ],
        [{ firstName: 'Peter', lastName: 'Jones' }],
      ],
    };
    expect(matchesEventPattern({ employees: { firstName: ['Anna'] } }, event)).toBe(true);
    expect(matchesEventPattern({ employees: { firstName: ['Anna'], lastName: ['Smith'] } }, event)).toBe(
      true,
    );
    expect(matchesEventPattern({ employees: { firstName: ['Anna'], lastName: ['Jones'] } }, event)).toBe(
      false,
    );
  });

  it('matches prefix, suffix and equals-ignore-case on strings, with or without case', () => {
    expect(matchesEventPattern({ time: [{ prefix: '2017-10-02' }] }, EC2_EVENT)).toBe(true);
    expect(matchesEventPattern({ source: [{ suffix: 'ec2' }] }, EC2_EVENT)).toBe(true);
    expect(matchesEventPattern({ source: [{ suffix: 'EC2' }] }, EC2_EVENT)).toBe(false);
    expect(matchesEventPattern({ source: [{ suffix: { 'equals-ignore-case': 'EC2' } }] }, EC2_EVENT)).toBe(
      true,
    );
    expect(matchesEventPattern({ source: [{ prefix: { 'equals-ignore-case': 'AWS.' } }] }, EC2_EVENT)).toBe(
      true,
    );
    expect(matchesEventPattern({ source: [{ 'equals-ignore-case': 'AWS.EC2' }] }, EC2_EVENT)).toBe(true);
    expect(matchesEventPattern({ detail: { 'c-count': [{ prefix: '5' }] } }, EC2_EVENT)).toBe(false);
  });

  it('matches anything but a value, a list, a prefix, a suffix, a case-insensitive value or a wildcard', () => {
    const state = (s: string) => ({ detail: { state: s } });
    expect(
      matchesEventPattern({ detail: { state: [{ 'anything-but': 'initializing' }] } }, state('running')),
    ).toBe(true);
    expect(
      matchesEventPattern({ detail: { state: [{ 'anything-but': 'initializing' }] } }, state('initializing')),
    ).toBe(false);
    expect(
      matchesEventPattern(
        { detail: { state: [{ 'anything-but': ['stopped', 'overloaded'] }] } },
        state('stopped'),
      ),
    ).toBe(false);
    expect(
      matchesEventPattern(
        { detail: { state: [{ 'anything-but': { prefix: 'init' } }] } },
        state('initializing'),
      ),
    ).toBe(false);
    expect(
      matchesEventPattern({ detail: { state: [{ 'anything-but': { prefix: 'init' } }] } }, state('running')),
    ).toBe(true);
    expect(matchesEventPattern({ f: [{ 'anything-but': { suffix: '.png' } }] }, { f: 'a.png' })).toBe(false);
    expect(
      matchesEventPattern({ f: [{ 'anything-but': { 'equals-ignore-case': ['A', 'b'] } }] }, { f: 'B' }),
    ).toBe(false);
    expect(matchesEventPattern({ f: [{ 'anything-but': { 'equals-ignore-case': 'a' } }] }, { f: 'c' })).toBe(
      true,
    );
    expect(
      matchesEventPattern({ f: [{ 'anything-but': { wildcard: '*/lib/*' } }] }, { f: '/usr/lib/x' }),
    ).toBe(false);
    expect(
      matchesEventPattern({ f: [{ 'anything-but': { wildcard: '*/lib/*' } }] }, { f: '/usr/bin/x' }),
    ).toBe(true);
    expect(matchesEventPattern({ x: [{ 'anything-but': [100, 200, 300] }] }, { x: 200 })).toBe(false);
  });

  it('never matches anything-but against a missing field', () => {
    expect(
      matchesEventPattern({ detail: { state: [{ 'anything-but': 'initializing' }] } }, { detail: {} }),
    ).toBe(false);
  });

  it('matches exists on leaves only: exists false matches a missing field and an intermediate object', () => {
    const absent = { detail: { state: ['initializing', 'running'] } };
    const intermediate = { detail: { state: 'running', 'c-count': { c1: 100 } } };
    expect(matchesEventPattern({ detail: { 'c-count': [{ exists: false }] } }, absent)).toBe(true);
    expect(matchesEventPattern({ detail: { 'c-count': [{ exists: false }] } }, intermediate)).toBe(true);
    expect(matchesEventPattern({ detail: { 'c-count': [{ exists: false }] } }, EC2_EVENT)).toBe(false);
    expect(matchesEventPattern({ detail: { state: [{ exists: true }] } }, EC2_EVENT)).toBe(true);
    expect(
      matchesEventPattern({ detail: { state: [{ exists: true }] } }, { detail: { 'c-count': { c1: 100 } } }),
    ).toBe(false);
  });

  it('matches wildcards, with escaped asterisks as literals', () => {
    expect(matchesEventPattern({ s: [{ wildcard: 'Simple*Service' }] }, { s: 'Simple Queue Service' })).toBe(
      true,
    );
    expect(matchesEventPattern({ s: [{ wildcard: 'Simple*Service' }] }, { s: 'Simple Queue Services' })).toBe(
      false,
    );
    expect(matchesEventPattern({ s: [{ wildcard: 'a\\*b' }] }, { s: 'a*b' })).toBe(true);
    expect(matchesEventPattern({ s: [{ wildcard: 'a\\*b' }] }, { s: 'axb' })).toBe(false);
    expect(matchesEventPattern({ s: [{ wildcard: 'a.c' }] }, { s: 'abc' })).toBe(false);
  });

  it('matches IPv4 and IPv6 networks', () => {
    expect(matchesEventPattern({ detail: { 'source-ip': [{ cidr: '10.0.0.0/24' }] } }, EC2_EVENT)).toBe(true);
    expect(matchesEventPattern({ detail: { 'source-ip': [{ cidr: '10.0.1.0/24' }] } }, EC2_EVENT)).toBe(
      false,
    );
    expect(matchesEventPattern({ ip: [{ cidr: '2001:db8::/32' }] }, { ip: '2001:db8::1' })).toBe(true);
  });

  it('matches $or when any alternative matches, and nested $or inside alternatives', () => {
    const pattern = {
      source: ['aws.cloudwatch'],
      $or: [
        { metricName: ['CPUUtilization', 'ReadLatency'] },
        {
          metricType: ['MetricType'],
          namespace: ['AWS/EC2', 'AWS/ES'],
          $or: [{ metricId: [1234] }, { spaceId: [1000] }],
        },
        { scope: ['Service'] },
      ],
    };
    expect(matchesEventPattern(pattern, { source: 'aws.cloudwatch', scope: 'Service' })).toBe(true);
    expect(
      matchesEventPattern(pattern, {
        source: 'aws.cloudwatch',
        metricType: 'MetricType',
        namespace: 'AWS/ES',
        spaceId: 1000,
      }),
    ).toBe(true);
    expect(
      matchesEventPattern(pattern, {
        source: 'aws.cloudwatch',
        metricType: 'MetricType',
        namespace: 'AWS/ES',
      }),
    ).toBe(false);
    expect(matchesEventPattern(pattern, { source: 'aws.ec2', scope: 'Service' })).toBe(false);
  });

  it('treats $or as an ordinary field when it is not a list of at least two sub-patterns', () => {
    expect(matchesEventPattern({ $or: ['x'] }, { $or: 'x' })).toBe(true);
    expect(matchesEventPattern({ $or: [{ numeric: ['>', 1] }, { prefix: 'a' }] }, { $or: 'abc' })).toBe(true);
  });

  it('uses the last occurrence of a key given twice, as the user guide says', () => {
    const text = '{"detail":{"location":[{"prefix":"us-"}],"location":[{"anything-but":"us-east"}]}}';
    expect(matchesEventPattern(compileEventPattern(text), { detail: { location: 'eu-west' } })).toBe(true);
  });
});

describe('Function: ecrPushRulePattern', () => {
  const pattern = ecrPushRulePattern(config([PROD]));

  it('selects successful pushes to the configured private repositories', () => {
    expect(pattern).toEqual({
      source: ['aws.ecr'],
      'detail-type': ['ECR Image Action'],
      detail: { 'action-type': ['PUSH'], result: ['SUCCESS'], 'repository-name': ['inference', 'tools'] },
    });
  });

  it('matches the official push sample and untagged children (tag filtering is the handler’s job)', () => {
    expect(matchesEventPattern(pattern ?? {}, PUSH_SAMPLE)).toBe(true);
    expect(matchesEventPattern(pattern ?? {}, SOCI_UNTAGGED_CHILD)).toBe(true);
  });

  it('does not match deletes, archive actions, failures or other repositories', () => {
    expect(
      matchesEventPattern(pattern ?? {}, {
        ...PUSH_SAMPLE,
        detail: { ...PUSH_SAMPLE.detail, 'action-type': 'DELETE' },
      }),
    ).toBe(false);
    expect(matchesEventPattern(pattern ?? {}, ARCHIVE_SAMPLE)).toBe(false);
    expect(
      matchesEventPattern(pattern ?? {}, {
        ...PUSH_SAMPLE,
        detail: { ...PUSH_SAMPLE.detail, result: 'FAILED' },
      }),
    ).toBe(false);
    expect(
      matchesEventPattern(pattern ?? {}, {
        ...PUSH_SAMPLE,
        detail: { ...PUSH_SAMPLE.detail, 'repository-name': 'other' },
      }),
    ).toBe(false);
  });

  it('lists the repositories of one region when asked, and none for ECR Public or other regions', () => {
    const cfg = config([
      PROD,
      {
        name: 'east',
        hostname: '123456789012.dkr.ecr.us-east-1.amazonaws.com',
        repositories: ['east-repo'],
        credentialName: 'ecr-east',
      },
      {
        name: 'pub',
        hostname: 'public.ecr.aws',
        accountId: '123456789012',
        repositories: ['public-repo'],
        credentialName: 'ecr-pub',
      },
    ]);
    const repositories = (region?: string) =>
      (ecrPushRulePattern(cfg, region)?.['detail'] as Record<string, unknown> | undefined)?.[
        'repository-name'
      ];
    expect(repositories('us-east-1')).toEqual(['east-repo']);
    expect(repositories()).toEqual(['east-repo', 'inference', 'tools']);
    expect(ecrPushRulePattern(cfg, 'eu-west-1')).toBeUndefined();
  });
});

describe('Function: notificationPatterns', () => {
  const patterns = notificationPatterns();
  const event = (detailType: string, detail: unknown) => ({
    source: EVENT_SOURCE,
    'detail-type': detailType,
    detail,
  });
  const matching = (e: unknown) =>
    Object.entries(patterns)
      .filter(([, p]) => matchesEventPattern(p, e))
      .map(([k]) => k);

  it('notifies image verdicts other than compliant, artifact and superseded', () => {
    for (const verdict of ['non-compliant', 'not-runnable', 'error']) {
      expect(matching(event(DETAIL_TYPES.imageValidation, { verdict }))).toEqual(['image-not-compliant']);
    }
    // Signatures, attestations, SBOMs and charts are pushed beside every image: never an alert.
    for (const verdict of ['compliant', 'artifact', 'superseded'])
      expect(matching(event(DETAIL_TYPES.imageValidation, { verdict }))).toEqual([]);
  });

  it('notifies failed rotations and postponed retirements, not successful ones', () => {
    expect(matching(event(DETAIL_TYPES.rotationFailed, {}))).toEqual(['rotation-failed']);
    expect(matching(event(DETAIL_TYPES.retirementPostponed, {}))).toEqual(['retirement-postponed']);
    expect(matching(event(DETAIL_TYPES.credentialRotated, {}))).toEqual([]);
    expect(matching(event(DETAIL_TYPES.previousKeyRetired, {}))).toEqual([]);
  });

  it('notifies audits with at least one failed check only', () => {
    expect(
      matching(
        event(DETAIL_TYPES.complianceAudit, { summary: { total: 9, passed: 7, failed: 2, exempted: 0 } }),
      ),
    ).toEqual(['audit-failed']);
    expect(
      matching(
        event(DETAIL_TYPES.complianceAudit, { summary: { total: 9, passed: 8, failed: 0, exempted: 1 } }),
      ),
    ).toEqual([]);
  });

  it('notifies audits with checks that could not be evaluated, even without a failure (review finding 5)', () => {
    // The audit role lost its reads, or NVCF is down: every check it touches is an error, none failed.
    const summary = { total: 9, passed: 2, failed: 0, exempted: 0, errors: 7, informational: 0 };
    expect(matching(event(DETAIL_TYPES.complianceAudit, { summary }))).toEqual(['audit-failed']);
    expect(
      matching(event(DETAIL_TYPES.complianceAudit, { summary: { ...summary, failed: 2, errors: 7 } })),
    ).toEqual(['audit-failed']);
    expect(
      matching(event(DETAIL_TYPES.complianceAudit, { summary: { ...summary, passed: 9, errors: 0 } })),
    ).toEqual([]);
  });

  it('ignores events from other sources', () => {
    expect(
      matching({ source: 'someone-else', 'detail-type': DETAIL_TYPES.rotationFailed, detail: {} }),
    ).toEqual([]);
  });
});

describe('Function: parseScheduleExpression', () => {
  /** The parser refuses `expression` for `reason`. */
  const expectRefusal = (expression: string, reason: string) =>
    expect(parseScheduleExpression(expression)).toEqual({ ok: false, reason });

  it('parses rates with their period', () => {
    const r = parseScheduleExpression('rate(5 minutes)');
    expect(r.ok && r.schedule.kind === 'rate' ? r.schedule.periodMs : undefined).toBe(5 * 60 * 1000);
    const d = parseScheduleExpression('rate(1 day)');
    expect(d.ok && d.schedule.kind === 'rate' ? d.schedule.periodMs : undefined).toBe(86_400_000);
  });

  it('rejects plural units for 1 and singular units above 1', () => {
    expectRefusal('rate(1 hours)', 'use the singular unit for a value of 1: rate(1 hour)');
    expectRefusal('rate(2 hour)', 'use the plural unit for a value above 1: rate(2 hours)');
    expectRefusal('rate(0 minutes)', 'the rate value must be a positive whole number');
  });

  it('rejects cron expressions without six fields or with both day fields set', () => {
    expectRefusal(
      'cron(0 12 * * ?)',
      'cron expressions have 6 fields (minutes hours day-of-month month day-of-week year), got 5',
    );
    expect(parseScheduleExpression('cron(0 12 * * MON *)').ok).toBe(false);
    expect(parseScheduleExpression('cron(0 12 ? * ? *)').ok).toBe(false);
  });

  it('rejects values outside a field’s range, naming the field', () => {
    expectRefusal('cron(60 12 * * ? *)', 'minutes: 60 is outside 0-59');
    expectRefusal('cron(0 12 ? * 8 *)', 'day-of-week: 8 is outside 1-7');
  });

  it('rejects text that is neither rate nor cron', () => {
    expect(parseScheduleExpression('every day').ok).toBe(false);
  });
});

describe('Function: assertScheduleExpression', () => {
  it('throws ScheduleExpressionError naming the expression and the reason', () => {
    expectThrow(
      () => assertScheduleExpression('rate(1 days)'),
      ScheduleExpressionError,
      "'rate(1 days)'",
      'singular unit',
    );
  });
});

describe('Function: nextScheduleTime', () => {
  const at = (iso: string) => new Date(iso);
  const next = (expr: string, after: string, anchor?: string) =>
    nextScheduleTime(
      assertScheduleExpression(expr),
      at(after),
      anchor ? at(anchor) : undefined,
    )?.toISOString();

  it('counts whole rate periods from the anchor', () => {
    expect(next('rate(1 day)', '2025-01-01T00:00:30Z', '2025-01-01T00:00:00Z')).toBe(
      '2025-01-02T00:00:00.000Z',
    );
    expect(next('rate(1 hour)', '2025-01-01T05:30:00Z', '2025-01-01T00:10:00Z')).toBe(
      '2025-01-01T06:10:00.000Z',
    );
    expect(next('rate(1 hour)', '2025-01-01T06:10:00Z', '2025-01-01T00:10:00Z')).toBe(
      '2025-01-01T07:10:00.000Z',
    );
  });

  it('fires a daily cron at the next matching minute, strictly after the given time', () => {
    expect(next('cron(0 12 * * ? *)', '2025-03-10T11:59:59Z')).toBe('2025-03-10T12:00:00.000Z');
    expect(next('cron(0 12 * * ? *)', '2025-03-10T12:00:00Z')).toBe('2025-03-11T12:00:00.000Z');
  });

  it('evaluates steps, ranges and weekday names (2025-03-14 is a Friday)', () => {
    expect(next('cron(0/15 * * * ? *)', '2025-03-10T10:07:00Z')).toBe('2025-03-10T10:15:00.000Z');
    expect(next('cron(0 8 ? * MON-FRI *)', '2025-03-14T09:00:00Z')).toBe('2025-03-17T08:00:00.000Z');
    expect(next('cron(0 8 ? * 6 *)', '2025-03-10T00:00:00Z')).toBe('2025-03-14T08:00:00.000Z');
  });

  it('evaluates L, W and # (last day, nearest weekday, nth weekday)', () => {
    expect(next('cron(0 0 L * ? *)', '2024-02-10T00:00:00Z')).toBe('2024-02-29T00:00:00.000Z');
    // 2025-03-15 is a Saturday: 15W is Friday the 14th; 2025-06-01 is a Sunday: 1W is Monday the 2nd.
    expect(next('cron(0 0 15W * ? *)', '2025-03-01T00:00:00Z')).toBe('2025-03-14T00:00:00.000Z');
    expect(next('cron(0 0 1W * ? *)', '2025-05-31T00:00:00Z')).toBe('2025-06-02T00:00:00.000Z');
    expect(next('cron(0 0 ? * 2#1 *)', '2025-03-10T00:00:00Z')).toBe('2025-04-07T00:00:00.000Z');
    expect(next('cron(0 0 ? * 6L *)', '2025-03-01T00:00:00Z')).toBe('2025-03-28T00:00:00.000Z');
  });

  it('returns undefined when the years of a cron are over', () => {
    expect(next('cron(0 0 1 1 ? 2020)', '2025-01-01T00:00:00Z')).toBeUndefined();
    expect(next('cron(0 0 1 1 ? 2030)', '2025-01-01T00:00:00Z')).toBe('2030-01-01T00:00:00.000Z');
  });
});
