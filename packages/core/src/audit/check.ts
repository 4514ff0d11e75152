import type { Config, RegistryConfig } from '../config/index.ts';
import type { Logger } from '../log.ts';
import { maskAccessKeyId, redact, redactString } from '../redact.ts';
import { type AccountFacts, describeFailure, type IamReader, type RegistryFacts } from './facts.ts';
import type { CheckDefinition, Evidence, Finding, FindingDraft } from './model.ts';

/**
 * What a check family gets, and the two helpers every family uses: {@link toFinding} (a draft plus the
 * check's metadata) and {@link guard} (a failed read becomes an `error` finding of each check that needed it,
 * instead of failing the whole audit).
 */

export interface RegistryCheckContext {
  readonly config: Config;
  readonly registry: RegistryConfig;
  readonly facts: RegistryFacts;
  readonly account: AccountFacts;
  readonly iam: IamReader;
  /** The audit's clock, read once: every check judges the same instant. */
  readonly now: Date;
  readonly logger: Logger;
}

/** A draft with the check's title and defaults; evidence and message are redacted (a second line of defence). */
export function toFinding(definition: CheckDefinition, draft: FindingDraft, registry?: string): Finding {
  return {
    checkId: definition.id,
    title: definition.title,
    status: draft.status,
    severity: draft.severity ?? definition.severity,
    ...(registry !== undefined ? { registry } : {}),
    resource: draft.resource,
    message: redactString(draft.message),
    evidence: redact(draft.evidence ?? {}) as Evidence,
    remediation: redactString(draft.remediation ?? definition.remediation),
  };
}

/**
 * Runs one check; when it throws, returns one `error` finding for it on `resource`, saying what failed. The
 * error is logged with its cause so an operator can follow up; the finding holds only the description.
 */
export async function guard(
  definition: CheckDefinition,
  resource: string,
  registry: string | undefined,
  logger: Logger,
  run: () => Promise<FindingDraft[]> | FindingDraft[],
): Promise<Finding[]> {
  try {
    return (await run()).map((d) => toFinding(definition, d, registry));
  } catch (err) {
    const why = describeFailure(err);
    logger.warn('audit check could not run', { checkId: definition.id, resource, error: err });
    return [
      toFinding(
        definition,
        {
          status: 'error',
          resource,
          message: `${definition.id} could not be evaluated: ${why}`,
          remediation:
            'Check that the audit can read what this check reads (its role in the Audit stack, or your credentials for the CLI), then run the audit again.',
        },
        registry,
      ),
    ];
  }
}

/** `AKIA…WXYZ`: how every finding names a key. */
export const masked = maskAccessKeyId;

/** ISO-8601 of a date, or `null` (evidence is JSON). */
export function iso(date: Date | undefined): string | null {
  return date === undefined || Number.isNaN(date.getTime()) ? null : date.toISOString();
}

/** Whole days from `from` to `to`, rounded down. */
export function daysBetween(from: Date, to: Date): number {
  return Math.floor((to.getTime() - from.getTime()) / 86_400_000);
}

/** `a, b and c`; with more than `max` items, `a, b, c and 4 more`. */
export function listText(items: readonly string[], max = 5): string {
  if (items.length === 0) return 'none';
  const shown = items.slice(0, max);
  const rest = items.length - shown.length;
  if (rest > 0) return `${shown.join(', ')} and ${rest} more`;
  if (shown.length === 1) return shown[0] as string;
  return `${shown.slice(0, -1).join(', ')} and ${shown[shown.length - 1]}`;
}

/** `1 key`, `2 keys`. */
export function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}
