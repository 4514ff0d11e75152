import { auditReportSchema, renderHtml, renderJson, renderMarkdown, renderTable } from '@nvcf-ecr/core/audit';
import { describe, expect, it } from 'vitest';
import { finding, report } from './fakes.ts';

const HOSTILE = '<script>alert(1)</script>';

const sample = report([
  finding('image.platforms', {
    status: 'fail',
    severity: 'high',
    resource: `host/app:${HOSTILE}`,
    message: `image ${HOSTILE} | lacks linux/arm64 \`now\``,
    evidence: { tags: [HOSTILE], note: '```' },
  }),
  finding('iam.access-key-age', { status: 'fail', severity: 'critical', message: 'old key' }),
  finding('ngc.api-key-valid', {
    status: 'error',
    severity: 'critical',
    resource: 'ngc:api-key/x',
    message: 'could not read',
  }),
  finding('iam.key-matches-secret', {
    status: 'exempt',
    exemption: { reason: 'ticket 1', expires: '2027-01-01' },
  }),
  finding('secret.rotation-enabled', {
    status: 'pass',
    resource: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:s',
  }),
]);

describe('Function: renderJson', () => {
  it('writes the report as it is, valid against the published schema', () => {
    const json = renderJson(sample);
    expect(JSON.parse(json)).toEqual(sample);
    expect(auditReportSchema.safeParse(JSON.parse(json)).success).toBe(true);
  });
});

describe('Function: renderHtml', () => {
  const html = renderHtml(sample);

  it('escapes every value: a <script> in a resource, message or evidence stays text', () => {
    expect(html).not.toContain(HOSTILE);
    expect(html).toContain('host/app:&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).not.toMatch(/<script/i);
  });

  it('is self-contained: inline CSS, no external URL, a CSP that loads nothing', () => {
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).not.toMatch(/<(link|img|iframe|object)\b/i);
    expect(html).toContain(
      `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`,
    );
    expect(html).toContain('<style>');
  });

  it('puts the summary first, failures next in report order, and folds evidence', () => {
    const order = [
      'id="summary"',
      'id="failures"',
      'id="errors"',
      'id="exempted"',
      'id="passed"',
      'id="checks"',
    ].map((m) => html.indexOf(m));
    expect(order.every((i) => i > 0)).toBe(true);
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(html.indexOf('image.platforms')).toBeGreaterThan(
      html.indexOf('iam.access-key-age', html.indexOf('id="failures"')),
    );
    expect(html).not.toMatch(/<details open/);
    expect(html).toContain('Not compliant: 2 failed, 1 could not be checked (worst: critical)');
  });
});

describe('Function: renderMarkdown', () => {
  const md = renderMarkdown(sample);

  it('escapes markup and table pipes in values; evidence stays literal inside its code fence', () => {
    const prose = md.replace(/(`{3,})json\n[\s\S]*?\n\1/g, '');
    expect(prose).not.toContain(HOSTILE);
    expect(md).toMatch(/````json\n\{\n {2}"tags": \[\n {4}"<script>alert\(1\)<\/script>"/);
    expect(md).toContain('image &lt;script&gt;alert(1)&lt;/script&gt; \\| lacks linux/arm64 \\`now\\`');
  });

  it('fences evidence longer than any backtick run inside it', () => {
    expect(md).toContain('````json\n{\n  "tags": [');
  });

  it('lists failures, errors and exemptions with their remediation, and passes in a table', () => {
    expect(md).toContain('**Result: 2 failed, 1 could not be checked (worst: critical).**');
    expect(md).toContain('## Failures (2)');
    expect(md).toContain('## Could not be checked (1)');
    expect(md).toContain('- **Exempted until 2027-01-01:** ticket 1');
    expect(md).toContain('## Passed (1)');
  });
});

describe('Function: renderTable', () => {
  it('prints findings that need attention with their fix, passes on one line, the summary last', () => {
    const text = renderTable(sample);
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toBe('FAIL   critical iam.access-key-age  arn:aws:iam::123456789012:user/nvcf-ecr-prod');
    expect(lines[1]).toBe('       old key');
    expect(lines[2]).toMatch(/^ {7}fix: /);
    expect(text).toContain(
      'PASS            secret.rotation-enabled  arn:aws:secretsmanager:us-east-1:123456789012:secret:s',
    );
    expect(lines.at(-1)).toBe(
      'not compliant: 2 failed (worst critical), 1 errors, 1 exempted, 1 passed — prod, 3 images resolved in 1.2 s',
    );
  });

  it('replaces terminal control characters in values', () => {
    const text = renderTable(
      report([finding('image.platforms', { status: 'fail', resource: 'x\u001b[2Jy', message: 'a\nb' })]),
    );
    expect(text).toContain('x?[2Jy');
    expect(text).toContain('       a b');
    expect(text).not.toContain('\u001b');
  });
});
