import { type EffectivePolicies, parsePolicyDocument, policySourceLabel } from './effective.ts';
import {
  type Permission,
  PRIVATE_PULL_ACTIONS,
  PUBLIC_PULL_ACTIONS,
  requiredPullPermissions,
} from './policy.ts';
import { dangerousActionProbes, outOfScopeProbes, type PullAccessScope } from './probes.ts';
import {
  type IamSimulator,
  type PolicyOfUser,
  permissionKey,
  type SimulatedPermission,
  simulatePrincipal,
} from './simulator.ts';
import { defaultRequestContext, scanWildcards, statementGrants, type WildcardFinding } from './statements.ts';

/**
 * Least privilege of the pull user, judged by AWS: what its policies allow, asked of
 * `iam:SimulatePrincipalPolicy` (`simulator.ts`), compared with NVCF's minimal pull policy.
 */

/** An (action, resource) the pull user is allowed beyond what NVCF needs, and what allows it. */
export interface GrantFinding extends Permission {
  /** Labels of the policies that allow it (`policySourceLabel`). */
  readonly sources: readonly string[];
  /** The statements that allow it: `<policy label> <Sid or Statement[i]>`. */
  readonly statements: readonly string[];
}

/** A permission NVCF needs that AWS does not allow, and why. */
export interface MissingPermission extends Permission {
  /** `explicit deny` (by `statements`), `permissions boundary`, or `no allow`. */
  readonly reason: 'explicit deny' | 'permissions boundary' | 'no allow';
  /** The denying statements, for an explicit deny. */
  readonly statements: readonly string[];
}

export interface PullAccessReport {
  /** NVCF needs it, and AWS does not allow it. */
  readonly missing: readonly MissingPermission[];
  /**
   * Allowed, but beyond the minimum: every (action, resource) an Allow statement of the user's policies names
   * that AWS allows, and a sample of dangerous actions on representative resources.
   */
  readonly excess: readonly GrantFinding[];
  /** Pull actions allowed on a repository that is not configured, in another region, or in another account. */
  readonly outOfScope: readonly GrantFinding[];
  /** Evidence read from the documents that explains the simulation's findings. */
  readonly wildcards: readonly WildcardFinding[];
  /** NVCF needs it, and it is allowed. */
  readonly allowedRequired: readonly Permission[];
}

/**
 * Compares what AWS says the pull user may do with NVCF's minimal pull policy:
 *
 * - `missing` / `allowedRequired`: each permission of `requiredPullPermissions`;
 * - `excess` / `outOfScope`: what the policies themselves grant (`statementGrants`: every literal action of
 *   every Allow statement on every resource it names, so a Deny, a condition or the permissions boundary
 *   still decides), plus two fixed samples that catch what wildcard actions grant (`dangerousActionProbes`,
 *   `outOfScopeProbes`). An allowed pair that is not one of NVCF's required permissions is `outOfScope` when
 *   it is a pull action (of the registry's kind) on another repository, `excess` otherwise; each names the
 *   policies and statements that allow it (AWS's `MatchedStatements`);
 * - `wildcards`: Allow statements with `*` actions or resources, `NotAction`, `NotResource`, read from the
 *   documents as supporting evidence.
 *
 * Throws `PolicyEvaluationError` naming the policy when a document is malformed; IAM's errors as the SDK
 * raises them.
 */
export async function evaluatePullAccess(
  registry: PullAccessScope,
  effective: EffectivePolicies,
  iam: IamSimulator,
): Promise<PullAccessReport> {
  const policies: PolicyOfUser[] = effective.policies.map((source) => {
    const label = policySourceLabel(source);
    return { source, label, document: parsePolicyDocument(source.document, label) };
  });
  const context = defaultRequestContext(effective.userArn);
  const required = requiredPullPermissions(registry);
  const requiredKeys = new Set(required.map(permissionKey));
  const probeContext = {
    ...registry,
    userName: effective.userName,
    accountId: registry.accountId || effective.accountId,
    principalAccount: effective.accountId,
  };
  const dangerous = dangerousActionProbes(probeContext);
  const foreign = outOfScopeProbes(probeContext);
  // What the statements grant, each asked as AWS would see it: a concrete resource with its policy variables
  // resolved, a pattern as written (AWS matches a pattern request against the policies' own patterns).
  const grants = new Map<string, Permission & { readonly asked: string }>();
  for (const p of policies) {
    for (const g of statementGrants(p.document, context)) {
      const key = permissionKey(g);
      if (requiredKeys.has(key) || grants.has(key)) continue;
      grants.set(key, {
        action: g.action,
        resource: g.resource,
        asked: isPattern(g.resource) ? g.written : g.resource,
      });
    }
  }
  const asked = [
    ...required,
    ...dangerous,
    ...foreign,
    ...[...grants.values()].map((g) => ({ action: g.action, resource: g.asked })),
  ];
  const answers = await simulatePrincipal(iam, effective.userArn, context, asked, policies);
  const answer = (p: Permission): SimulatedPermission | undefined => answers.get(permissionKey(p));

  const missing: MissingPermission[] = [];
  const allowedRequired: Permission[] = [];
  for (const p of required) {
    const a = answer(p);
    if (a?.decision === 'allowed') allowedRequired.push({ action: p.action, resource: p.resource });
    else missing.push({ action: p.action, resource: p.resource, ...why(a) });
  }
  const finding = (p: Permission, a: SimulatedPermission): GrantFinding => ({
    action: p.action,
    resource: p.resource,
    sources: a.sources,
    statements: a.statements,
  });
  const sampled = (probes: readonly Permission[]) =>
    probes.flatMap((p) => {
      const a = answer(p);
      return a?.decision === 'allowed' ? [finding(p, a)] : [];
    });
  const excess = sampled(dangerous);
  const outOfScope = sampled(foreign);
  const pullActions = new Set<string>(
    (registry.kind === 'public' ? PUBLIC_PULL_ACTIONS : PRIVATE_PULL_ACTIONS).map((a) => a.toLowerCase()),
  );
  // A pattern is reported as written unless a concrete finding for the same action on a resource it matches
  // already shows it.
  for (const g of grants.values()) {
    const a = answer({ action: g.action, resource: g.asked });
    if (a?.decision !== 'allowed') continue;
    const found = finding(g, a);
    const target = pullActions.has(g.action.toLowerCase()) ? outOfScope : excess;
    if (!shownBy(found, target)) target.push(found);
  }
  return {
    missing,
    excess,
    outOfScope,
    wildcards: policies.flatMap((p) => scanWildcards(p.label, p.document)),
    allowedRequired,
  };
}

function why(a: SimulatedPermission | undefined): Pick<MissingPermission, 'reason' | 'statements'> {
  if (a?.decision === 'explicitDeny') return { reason: 'explicit deny', statements: a.statements };
  if (a?.allowedByBoundary === false) return { reason: 'permissions boundary', statements: [] };
  return { reason: 'no allow', statements: [] };
}

const isPattern = (resource: string) => /[*?]/.test(resource);

/** An IAM resource pattern as a regular expression: `*` any run of characters, `?` any one. */
function patternRegExp(pattern: string): RegExp {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

/** Whether `found` is already in `list`: the same pair, or a pattern one of its concrete pairs falls under. */
function shownBy(found: GrantFinding, list: readonly GrantFinding[]): boolean {
  const key = permissionKey(found);
  if (list.some((g) => permissionKey(g) === key)) return true;
  if (!isPattern(found.resource)) return false;
  const re = patternRegExp(found.resource);
  const action = found.action.toLowerCase();
  return list.some((g) => g.action.toLowerCase() === action && !isPattern(g.resource) && re.test(g.resource));
}
