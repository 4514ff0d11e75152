import { applyExemptions, exemptionEnd } from '@nvcf-ecr/core/audit';
import { describe, expect, it } from 'vitest';
import { finding } from './fakes.ts';

const USER = 'arn:aws:iam::123456789012:user/nvcf-ecr-prod';
const NOW = new Date('2026-06-15T12:00:00Z');

describe('Function: applyExemptions', () => {
  it('turns a matching failure into exempt with the reason and expiry', () => {
    const [f] = applyExemptions(
      [finding('iam.access-key-count', { status: 'fail', severity: 'high', resource: USER })],
      [
        {
          checkId: 'iam.access-key-count',
          resource: USER,
          reason: 'CI key (TICKET-1)',
          expires: '2026-12-31',
        },
      ],
      NOW,
    );
    expect(f).toMatchObject({
      status: 'exempt',
      severity: 'high',
      exemption: { reason: 'CI key (TICKET-1)', expires: '2026-12-31' },
    });
  });

  it("matches a resource pattern, '*' standing for any run of characters and nothing else being special", () => {
    const host = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
    const out = applyExemptions(
      ['staging-amd64', 'v1.2-amd64', 'v1-arm64', 'amd64'].map((tag) =>
        finding('image.platforms', { status: 'fail', resource: `${host}/inference:${tag}` }),
      ),
      [
        {
          checkId: 'image.platforms',
          resource: `${host}/inference:*-amd64`,
          reason: 'staging',
          expires: '2026-07-01',
        },
      ],
      NOW,
    );
    expect(out.map((f) => f.status)).toEqual(['exempt', 'exempt', 'fail', 'fail']);
    // '.' in a pattern is a dot, not any character.
    const [dot] = applyExemptions(
      [finding('image.platforms', { status: 'fail', resource: `${host}/inferenceXv1` })],
      [{ checkId: 'image.platforms', resource: `${host}/inference.v*`, reason: 'r', expires: '2026-07-01' }],
      NOW,
    );
    expect(dot?.status).toBe('fail');
  });

  it("matches every resource of a check with '*', and nothing of another check", () => {
    const out = applyExemptions(
      [
        finding('image.platforms', { status: 'fail', resource: 'host/a:v1' }),
        finding('image.platforms', { status: 'fail', resource: 'host/b:v1' }),
        finding('iam.access-key-age', { status: 'fail', resource: USER }),
      ],
      [{ checkId: 'image.platforms', resource: '*', reason: 'migration', expires: '2026-07-01' }],
      NOW,
    );
    expect(out.map((f) => f.status)).toEqual(['exempt', 'exempt', 'fail']);
  });

  it('leaves errors and passes alone: an exemption accepts a known failure, not an unknown state', () => {
    const out = applyExemptions(
      [
        finding('iam.access-key-age', { status: 'error', resource: USER }),
        finding('iam.access-key-count', { resource: USER }),
      ],
      [
        { checkId: 'iam.access-key-age', resource: '*', reason: 'r', expires: '2027-01-01' },
        { checkId: 'iam.access-key-count', resource: '*', reason: 'r', expires: '2027-01-01' },
      ],
      NOW,
    );
    expect(out.map((f) => f.status)).toEqual(['error', 'pass']);
  });

  it('reports an expired exemption as a low failure, and no longer applies it', () => {
    const out = applyExemptions(
      [finding('iam.access-key-count', { status: 'fail', resource: USER })],
      [{ checkId: 'iam.access-key-count', resource: USER, reason: 'was temporary', expires: '2026-06-14' }],
      NOW,
    );
    expect(out[0]?.status).toBe('fail');
    expect(out[1]).toMatchObject({
      checkId: 'audit.exemption-expired',
      status: 'fail',
      severity: 'low',
      resource: `exemption:iam.access-key-count/${USER}`,
      evidence: { reason: 'was temporary', expires: '2026-06-14', failuresItCovered: [USER] },
    });
    expect(out[1]?.message).toBe(
      `The exemption of iam.access-key-count for ${USER} expired on 2026-06-14; it no longer applies and 1 failure it covered is reported again.`,
    );
  });

  it('says when an expired exemption matches nothing any more', () => {
    const out = applyExemptions(
      [],
      [{ checkId: 'image.platforms', resource: '*', reason: 'r', expires: '2026-01-01T00:00:00Z' }],
      NOW,
    );
    expect(out).toHaveLength(1);
    expect(out[0]?.message).toContain('(it matches no current failure: remove it)');
  });
});

describe('Function: exemptionEnd', () => {
  it('keeps a date-only exemption valid through that whole UTC day', () => {
    expect(exemptionEnd('2026-06-15').toISOString()).toBe('2026-06-16T00:00:00.000Z');
    expect(
      applyExemptions(
        [],
        [{ checkId: 'image.platforms', resource: '*', reason: 'r', expires: '2026-06-15' }],
        NOW,
      ),
    ).toEqual([]);
  });

  it('takes a date-time as written', () => {
    expect(exemptionEnd('2026-06-15T08:30:00Z').toISOString()).toBe('2026-06-15T08:30:00.000Z');
  });
});
