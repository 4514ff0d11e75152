import type { Config } from '../config/index.ts';
import type { CheckDefinition, Finding } from './model.ts';

/**
 * Exemptions (`audit.exemptions` in the configuration): an operator accepts a known failure for a while,
 * with a reason. A live exemption turns a matching failure into `exempt` (kept in the report, with the
 * reason); an expired one no longer applies and is itself a finding, so an exemption cannot silently
 * outlive its review date.
 */

export type Exemption = Config['audit']['exemptions'][number];

export const EXEMPTION_EXPIRED: CheckDefinition = {
  id: 'audit.exemption-expired',
  title: 'Exemptions are still valid',
  severity: 'low',
  proves:
    'Every configured exemption is within its expiry date, so each accepted failure was reviewed recently.',
  remediation:
    'Review the failure the exemption covers: fix it and remove the exemption from audit.exemptions, or set a new expires date with a current reason.',
};

/**
 * When an exemption stops applying. A date without a time (`2027-06-30`) is valid through that whole UTC
 * day, as people read "expires 30 June"; a date-time is taken as written.
 */
export function exemptionEnd(expires: string): Date {
  if (/^\d{4}-\d{2}-\d{2}$/.test(expires)) return new Date(Date.parse(`${expires}T00:00:00Z`) + 86_400_000);
  return new Date(Date.parse(expires));
}

/**
 * Whether an exemption covers a finding: same check, and a resource equal to the finding's, or a pattern in
 * which each `*` stands for any run of characters (`*` alone: every resource of the check). So one rule,
 * `<host>/inference:*-amd64`, covers every per-architecture staging tag instead of one rule per tag.
 */
export function exemptionMatches(
  exemption: Pick<Exemption, 'checkId' | 'resource'>,
  finding: Finding,
): boolean {
  if (exemption.checkId !== finding.checkId) return false;
  if (!exemption.resource.includes('*')) return exemption.resource === finding.resource;
  const pattern = exemption.resource
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${pattern}$`, 's').test(finding.resource);
}

const matches = exemptionMatches;

/**
 * Applies exemptions: failures (not errors: an error proves nothing either way, so it is not accepted away)
 * matched by a live exemption become `exempt` with its reason; each expired exemption adds an
 * `audit.exemption-expired` failure naming it and the failures it would have covered.
 */
export function applyExemptions(
  findings: readonly Finding[],
  exemptions: readonly Exemption[],
  now: Date,
): Finding[] {
  const live = exemptions.filter((e) => exemptionEnd(e.expires).getTime() > now.getTime());
  const expired = exemptions.filter((e) => !live.includes(e));
  const out = findings.map((f): Finding => {
    if (f.status !== 'fail') return f;
    const e = live.find((x) => matches(x, f));
    if (!e) return f;
    return { ...f, status: 'exempt', exemption: { reason: e.reason, expires: e.expires } };
  });
  for (const e of expired) {
    const covered = findings.filter((f) => f.status === 'fail' && matches(e, f)).map((f) => f.resource);
    out.push({
      checkId: EXEMPTION_EXPIRED.id,
      title: EXEMPTION_EXPIRED.title,
      status: 'fail',
      severity: EXEMPTION_EXPIRED.severity,
      resource: `exemption:${e.checkId}/${e.resource}`,
      message:
        `The exemption of ${e.checkId} for ${e.resource} expired on ${e.expires}; it no longer applies` +
        (covered.length > 0
          ? ` and ${covered.length} failure${covered.length === 1 ? '' : 's'} it covered ${covered.length === 1 ? 'is' : 'are'} reported again.`
          : ' (it matches no current failure: remove it).'),
      evidence: {
        checkId: e.checkId,
        resource: e.resource,
        reason: e.reason,
        expires: e.expires,
        failuresItCovered: covered,
      },
      remediation: EXEMPTION_EXPIRED.remediation,
    });
  }
  return out;
}
