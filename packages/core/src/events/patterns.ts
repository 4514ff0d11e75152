import type { Config } from '../config/index.ts';
import type { Verdict } from '../image/policy.ts';
import { DETAIL_TYPES, ECR_EVENT_SOURCE, ECR_IMAGE_ACTION, EVENT_SOURCE } from './names.ts';
import type { EventPattern } from './pattern.ts';

/**
 * The rule patterns and schedules the stacks deploy and the sandbox runtime wires: one definition, so the
 * rule that runs locally is the rule that runs in AWS (the stacks' tests assert the deployed pattern equals
 * these).
 */

/** How often the retirement of previous keys runs (the grace period is counted in hours). */
export const RETIRE_SCHEDULE = 'rate(1 hour)';

/**
 * The ECR push rule (default bus): successful pushes to the configured private repositories. Tag and
 * media-type filtering happen in the handler, not here: untagged children arrive with `image-tag: ""`
 * while other events may lack the key, and EventBridge's `anything-but`/`exists` behaviour for a key that is
 * empty *or* absent is not documented (our pessimistic choice). `action-type` filters out `DELETE` and
 * `UPDATE_STORAGE_CLASS`, `result` anything but `SUCCESS`
 * (https://docs.aws.amazon.com/AmazonECR/latest/userguide/ecr-eventbridge.html).
 *
 * ECR emits events in the region of the repository, so a rule only sees its own region: pass `region` to
 * get the pattern for the registries of that region. Returns `undefined` when no private repository is
 * configured (for that region): ECR Public emits no push events to the account, and EventBridge rejects an
 * empty list.
 *
 * @example
 * new events.Rule(stack, 'EcrPush', { eventPattern: ecrPushRulePattern(config) });
 */
export function ecrPushRulePattern(config: Config, region?: string): EventPattern | undefined {
  const repositories = new Set<string>();
  for (const r of config.registries) {
    if (r.kind !== 'private' || (region !== undefined && r.region !== region)) continue;
    for (const repo of r.repositories) repositories.add(repo);
  }
  if (repositories.size === 0) return undefined;
  return {
    source: [ECR_EVENT_SOURCE],
    'detail-type': [ECR_IMAGE_ACTION],
    detail: {
      'action-type': ['PUSH'],
      result: ['SUCCESS'],
      'repository-name': [...repositories].sort(),
    },
  };
}

/**
 * Verdicts of `NVCF Image Validation` that an operator must hear about. `compliant`, `artifact` (a signature,
 * attestation, SBOM or chart pushed beside an image, on every push) and `superseded` (the tag moved on before
 * the verdict was ready; the later push has its own) are left out.
 */
export const NOTIFY_VERDICTS = [
  'non-compliant',
  'not-runnable',
  'error',
] as const satisfies readonly Verdict[];

/**
 * The summary every `NVCF Compliance Audit` event carries in `detail.summary`. The notification rule matches
 * `detail.summary.failed > 0` or `detail.summary.errors > 0` (numeric), so `failed` counts failed checks that
 * are not exempted, and `errors` checks that could not be evaluated; a run with only exempted, informational
 * or passed checks is quiet.
 */
export interface ComplianceAuditSummary {
  /** Checks evaluated. */
  readonly total: number;
  readonly passed: number;
  /**
   * Failed, not exempted and not informational (severity `info`: what the audit could not verify): what the
   * notification rule matches on (`AuditSummary` in `audit/model.ts`).
   */
  readonly failed: number;
  /** Failed but covered by a configured exemption. */
  readonly exempted: number;
  /**
   * Checks that could not be evaluated (a read the audit was refused, NVCF down). They notify too: an audit
   * that lost its access proves nothing, and would otherwise stay silent for as long as the access is lost.
   */
  readonly errors: number;
}

/** What notifies: the keys of {@link notificationPatterns} (and what `notifications.webhooks[].events` lists). */
export const NOTIFICATION_KEYS = [
  'image-not-compliant',
  'rotation-failed',
  'retirement-postponed',
  'audit-failed',
] as const;

export type NotificationKey = (typeof NOTIFICATION_KEYS)[number];

/**
 * Patterns of the notification rules on the project bus, keyed by the suffix of their rule name
 * (`NOTIFICATION_RULE_PREFIX + key`): image verdicts that are not `compliant` (`detail.verdict`), failed
 * rotations, postponed retirements, and audits with failures or checks they could not evaluate
 * (`detail.summary.failed > 0` or `detail.summary.errors > 0`, see {@link ComplianceAuditSummary}).
 *
 * @example
 * for (const [key, pattern] of Object.entries(notificationPatterns())) new events.Rule(stack, key, { eventBus, eventPattern: pattern });
 */
export function notificationPatterns(): Readonly<Record<NotificationKey, EventPattern>> {
  const source = [EVENT_SOURCE];
  return {
    'image-not-compliant': {
      source,
      'detail-type': [DETAIL_TYPES.imageValidation],
      detail: { verdict: [...NOTIFY_VERDICTS] },
    },
    'rotation-failed': { source, 'detail-type': [DETAIL_TYPES.rotationFailed] },
    'retirement-postponed': { source, 'detail-type': [DETAIL_TYPES.retirementPostponed] },
    'audit-failed': {
      source,
      'detail-type': [DETAIL_TYPES.complianceAudit],
      // One rule (one e-mail per audit) for both: EventBridge's `$or` within the summary.
      detail: {
        summary: { $or: [{ failed: [{ numeric: ['>', 0] }] }, { errors: [{ numeric: ['>', 0] }] }] },
      },
    },
  };
}
