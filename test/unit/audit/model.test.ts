import { atLeast, compareFindings, failsAt, summarize } from '@nvcf-ecr/core/audit';
import { describe, expect, it } from 'vitest';
import { finding, report } from './fakes.ts';

describe('Function: summarize', () => {
  it('counts findings by status and failures by severity', () => {
    const s = summarize([
      finding('iam.access-key-count', { status: 'fail', severity: 'high' }),
      finding('iam.key-matches-secret', { status: 'fail', severity: 'critical' }),
      finding('secret.rotation-enabled', { status: 'error', severity: 'high' }),
      finding('iam.access-key-age', { status: 'exempt', severity: 'medium' }),
      finding('image.platforms', { status: 'pass' }),
    ]);
    expect(s).toEqual({
      total: 5,
      passed: 1,
      failed: 2,
      exempted: 1,
      errors: 1,
      informational: 0,
      byStatus: { fail: 2, error: 1, exempt: 1, pass: 1 },
      bySeverity: { critical: 1, high: 1, medium: 0, low: 0, info: 0 },
      worstSeverity: 'critical',
    });
  });

  it('keeps informational failures out of `failed`, which the notification rule matches on', () => {
    const s = summarize([
      finding('image.platforms', { status: 'fail', severity: 'info' }),
      finding('iam.access-key-age', { status: 'exempt', severity: 'medium' }),
    ]);
    expect(s).toMatchObject({ failed: 0, informational: 1, exempted: 1, worstSeverity: 'info' });
    expect(s.byStatus.fail).toBe(1);
  });

  it('takes the worst severity from errors too: an unreadable check may hide a critical failure', () => {
    const s = summarize([
      finding('iam.access-key-age', { status: 'fail', severity: 'medium' }),
      finding('ngc.api-key-valid', { status: 'error', severity: 'critical' }),
    ]);
    expect(s.worstSeverity).toBe('critical');
  });

  it('reports no worst severity when nothing failed', () => {
    expect(summarize([finding('image.platforms')]).worstSeverity).toBeNull();
  });
});

describe('Function: compareFindings', () => {
  it('orders failures first by severity, then errors, exemptions and passes by check and resource', () => {
    const findings = [
      finding('image.platforms', { status: 'pass', resource: 'b' }),
      finding('iam.access-key-age', { status: 'exempt', severity: 'medium' }),
      finding('iam.access-key-count', { status: 'fail', severity: 'high' }),
      finding('ngc.api-key-valid', { status: 'error', severity: 'critical' }),
      finding('image.platforms', { status: 'pass', resource: 'a' }),
      finding('iam.key-matches-secret', { status: 'fail', severity: 'critical' }),
      finding('audit.exemption-expired', { status: 'fail', severity: 'low' }),
      finding('iam.access-key-age', { status: 'pass', severity: 'medium' }),
    ];
    const sorted = [...findings]
      .sort(compareFindings)
      .map((f) => `${f.status} ${f.severity} ${f.checkId} ${f.resource.slice(-1)}`);
    expect(sorted).toEqual([
      'fail critical iam.key-matches-secret d',
      'fail high iam.access-key-count d',
      'fail low audit.exemption-expired d',
      'error critical ngc.api-key-valid d',
      'exempt medium iam.access-key-age d',
      'pass medium iam.access-key-age d',
      'pass high image.platforms a',
      'pass high image.platforms b',
    ]);
  });
});

describe('Function: failsAt', () => {
  it('fails a gate for a non-exempted failure at or above the threshold only', () => {
    const r = report([
      finding('iam.access-key-age', { status: 'fail', severity: 'medium' }),
      finding('iam.key-matches-secret', { status: 'exempt', severity: 'critical' }),
      finding('ngc.api-key-valid', { status: 'error', severity: 'critical' }),
    ]);
    expect(failsAt(r, 'medium')).toBe(true);
    expect(failsAt(r, 'low')).toBe(true);
    expect(failsAt(r, 'high')).toBe(false);
    expect(atLeast('critical', 'high')).toBe(true);
    expect(atLeast('info', 'low')).toBe(false);
  });
});
