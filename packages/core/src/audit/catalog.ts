import { IAM_CHECKS } from './checks/iam.ts';
import { IMAGE_CHECKS } from './checks/image.ts';
import { NVCF_CHECKS } from './checks/nvcf.ts';
import { SECRET_CHECKS } from './checks/secret.ts';
import { EXEMPTION_EXPIRED } from './exemptions.ts';
import { AUDIT_INCOMPLETE } from './incomplete.ts';
import { CHECK_IDS, type CheckDefinition, type CheckId } from './model.ts';

/** Every check's metadata, by id, in the order of {@link CHECK_IDS} (what the reports and the docs list). */
export const CHECKS: Readonly<Record<CheckId, CheckDefinition>> = Object.fromEntries(
  [
    ...Object.values(IAM_CHECKS),
    ...Object.values(SECRET_CHECKS),
    ...Object.values(NVCF_CHECKS),
    ...Object.values(IMAGE_CHECKS),
    EXEMPTION_EXPIRED,
    AUDIT_INCOMPLETE,
  ].map((c) => [c.id, c]),
) as Record<CheckId, CheckDefinition>;

/** The checks in report order. */
export function checkCatalog(): CheckDefinition[] {
  return CHECK_IDS.map((id) => CHECKS[id]);
}
