import { PolicyEvaluationError } from '@nvcf-ecr/core/errors';
import { isActionAllowed } from '../iam/engine.ts';
import type { Principal } from '../server/aws.ts';
import type { World } from '../world.ts';

export type AccessDecision = 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied';

/**
 * Evaluates the principal's IAM policies (inline, attached, group, within its permissions boundary) for
 * `action` on `resource`; admin keys may do anything. Exported for listeners outside the front door that authorise as AWS does (the OCI registry
 * authorises each pull and push of an ECR token's principal).
 */
export async function evaluateAccess(
  world: World,
  principal: Principal,
  action: string,
  resource: string,
): Promise<AccessDecision> {
  if (principal.kind === 'admin') return 'Allowed';
  const userName = principal.userName ?? '';
  const policies = world.iam.effectivePolicies(userName).map((p) => ({ name: p.name, document: p.document }));
  const boundary = world.iam.boundaryOf(userName);
  try {
    return (
      await isActionAllowed({
        principalArn: principal.arn,
        accountId: world.accountId,
        action,
        resource,
        policies,
        boundary,
      })
    ).decision;
  } catch (err) {
    // A policy the simulator cannot read grants nothing (AWS would have refused to store it).
    if (!(err instanceof PolicyEvaluationError)) throw err;
    return 'ImplicitlyDenied';
  }
}
