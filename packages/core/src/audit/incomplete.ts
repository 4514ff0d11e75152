import type { RegistryConfig } from '../config/index.ts';
import { listText, plural, toFinding } from './check.ts';
import type { CheckDefinition, Finding } from './model.ts';

/**
 * The audit's own completeness. A Lambda invocation that reaches its timeout is stopped mid-flight: no report,
 * no event, nothing for the operator (https://docs.aws.amazon.com/lambda/latest/dg/configuration-timeout.html). The audit
 * therefore budgets its time ({@link AuditDeadline}): it stops starting repositories while there is still time
 * to write the reports and the event, and says here which repositories it did not reach.
 */

export const AUDIT_INCOMPLETE: CheckDefinition = {
  id: 'audit.incomplete',
  title: 'The audit reached every configured repository',
  severity: 'high',
  proves:
    'The run read and judged every configured repository before its time budget ran out, so the image findings cover the whole configuration.',
  remediation:
    'Run the audit again: images already resolved are taken from the resolution cache, so the next run goes further. If it stays incomplete, raise the function timeout to Lambda\'s 900 s if it is lower, audit fewer registries per run (the trigger\'s "registries" list), or fan the audit out per repository (https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html).',
};

/**
 * The time an audit may use: `remainingMs` is the invocation's clock (Lambda's
 * `context.getRemainingTimeInMillis()`), `reserveMs` what must be left when the last repository starts
 * (functions' images, NVCF deployments, three reports and the event).
 */
export interface AuditDeadline {
  readonly remainingMs: () => number;
  readonly reserveMs: number;
}

/** One finding per audited registry: `fail` naming the repositories not reached, else `pass`. */
export function incompleteFindings(
  registries: readonly RegistryConfig[],
  unreached: readonly { registry: RegistryConfig; repository: string }[],
  deadline: AuditDeadline | undefined,
): Finding[] {
  return registries.map((registry) => {
    const missed = unreached.filter((u) => u.registry.name === registry.name).map((u) => u.repository);
    const budget = deadline ? { reserveMs: deadline.reserveMs } : { deadline: null };
    if (missed.length === 0) {
      return toFinding(
        AUDIT_INCOMPLETE,
        {
          status: 'pass',
          resource: registry.hostname,
          message: `Every configured repository of ${registry.hostname} (${registry.repositories.length}) was read and judged.`,
          evidence: { repositories: registry.repositories.length, ...budget },
        },
        registry.name,
      );
    }
    return toFinding(
      AUDIT_INCOMPLETE,
      {
        status: 'fail',
        resource: registry.hostname,
        message: `The audit ran out of time before ${plural(missed.length, 'repository', 'repositories')} of ${registry.hostname}: ${listText(missed, 10)}. Their images were not checked in this run.`,
        evidence: { unreached: missed, repositories: registry.repositories.length, ...budget },
      },
      registry.name,
    );
  });
}
