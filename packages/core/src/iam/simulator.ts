import {
  type ContextEntry,
  type EvaluationResult,
  type IAMClient,
  type PolicyEvaluationDecisionType,
  SimulatePrincipalPolicyCommand,
  type Statement,
} from '@aws-sdk/client-iam';
import type { PolicySource } from './effective.ts';
import type { Permission } from './policy.ts';
import { offsetOf, policyText, statementLabel, statementSpans } from './statements.ts';

/**
 * Asks AWS's own policy engine, `iam:SimulatePrincipalPolicy`
 * (https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html), whether a user may
 * perform each (action, resource): it evaluates the user's inline, attached and group policies together with
 * its permissions boundary, as AWS evaluates a real request (explicit Deny wins, then an Allow is needed in
 * the identity policies and in the boundary:
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html). It reads no
 * resource policy unless given one, so every answer is the user's own policies' verdict.
 */

/** What {@link simulatePrincipal} needs: an SDK v3 IAM client (or anything with its `send`). */
export type IamSimulator = Pick<IAMClient, 'send'>;

/** A policy of the user as the simulation's `MatchedStatements` can point at it. */
export interface PolicyOfUser {
  readonly source: PolicySource;
  /** How findings name it (`policySourceLabel`). */
  readonly label: string;
  readonly document: Record<string, unknown>;
}

/** What AWS answered for one (action, resource). */
export interface SimulatedPermission extends Permission {
  readonly decision: PolicyEvaluationDecisionType;
  /** Labels of the policies whose statements decided (the allowing ones, or the denying ones). */
  readonly sources: readonly string[];
  /** Those statements: `<policy label> <Sid or Statement[i]>`. */
  readonly statements: readonly string[];
  /** False when the permissions boundary is what kept an otherwise allowed request out. */
  readonly allowedByBoundary?: boolean | undefined;
}

/**
 * AWS documents no limit on `ActionNames`; each call carries at most this many, a pessimistic bound that
 * keeps every answer within one page of `MaxItems` together with {@link RESOURCES_PER_CALL}.
 */
const ACTIONS_PER_CALL = 25;
const RESOURCES_PER_CALL = 20;
/** The largest page `MaxItems` allows (1000); the answer is still followed by `Marker` to its end. */
const MAX_ITEMS = 1000;

/**
 * Simulates every request of `requests` for the user, in as few calls as the batching allows: requests with
 * the same set of actions share a call over their resources (each action is simulated on each resource, so
 * only pairs that were asked are kept). `context` becomes `ContextEntries`: the keys a real request of the
 * user carries (`defaultRequestContext`), so that conditions on them are judged, not reported missing.
 */
export async function simulatePrincipal(
  iam: IamSimulator,
  userArn: string,
  context: Readonly<Record<string, string>>,
  requests: readonly Permission[],
  policies: readonly PolicyOfUser[],
): Promise<Map<string, SimulatedPermission>> {
  const byResource = new Map<string, Set<string>>();
  for (const r of requests) {
    const set = byResource.get(r.resource) ?? new Set<string>();
    set.add(r.action);
    byResource.set(r.resource, set);
  }
  const byActions = new Map<string, { actions: string[]; resources: string[] }>();
  for (const [resource, set] of byResource) {
    const actions = [...set].sort();
    const key = actions.join(' ');
    const group = byActions.get(key) ?? { actions, resources: [] };
    group.resources.push(resource);
    byActions.set(key, group);
  }
  const asked = new Set(requests.map(permissionKey));
  const entries = contextEntries(context);
  const texts = policies.map((p) => policyText(p.source.document));
  const out = new Map<string, SimulatedPermission>();
  for (const { actions, resources } of byActions.values()) {
    for (const a of chunks(actions, ACTIONS_PER_CALL)) {
      for (const r of chunks(resources, RESOURCES_PER_CALL)) {
        for (const result of await simulateAll(iam, userArn, a, r, entries)) {
          for (const answer of flatten(result)) {
            const key = permissionKey(answer);
            if (!asked.has(key)) continue;
            out.set(key, attribute(answer, policies, texts));
          }
        }
      }
    }
  }
  return out;
}

/** IAM action names are case-insensitive; ARNs are not. */
export function permissionKey(p: Permission): string {
  return `${p.action.toLowerCase()} ${p.resource}`;
}

async function simulateAll(
  iam: IamSimulator,
  userArn: string,
  actions: string[],
  resources: string[],
  entries: ContextEntry[],
): Promise<EvaluationResult[]> {
  const results: EvaluationResult[] = [];
  let marker: string | undefined;
  do {
    const page = await iam.send(
      new SimulatePrincipalPolicyCommand({
        PolicySourceArn: userArn,
        ActionNames: actions,
        ResourceArns: resources,
        ContextEntries: entries,
        MaxItems: MAX_ITEMS,
        Marker: marker,
      }),
    );
    results.push(...(page.EvaluationResults ?? []));
    marker = page.IsTruncated ? page.Marker : undefined;
  } while (marker);
  return results;
}

function contextEntries(context: Readonly<Record<string, string>>): ContextEntry[] {
  return Object.entries(context).map(([name, value]) => ({
    ContextKeyName: name,
    ContextKeyValues: [value],
    ContextKeyType: value === 'true' || value === 'false' ? 'boolean' : 'string',
  }));
}

interface Answer extends Permission {
  readonly decision: PolicyEvaluationDecisionType;
  readonly matched: readonly Statement[];
  readonly allowedByBoundary?: boolean | undefined;
}

/** One answer per (action, resource): the per-resource results where AWS gives them, else the result itself. */
function flatten(result: EvaluationResult): Answer[] {
  const action = result.EvalActionName ?? '';
  const specific = result.ResourceSpecificResults ?? [];
  if (specific.length > 0) {
    return specific.map((r) => ({
      action,
      resource: r.EvalResourceName ?? '*',
      decision: r.EvalResourceDecision ?? 'implicitDeny',
      matched: r.MatchedStatements ?? [],
      allowedByBoundary: (r.PermissionsBoundaryDecisionDetail ?? result.PermissionsBoundaryDecisionDetail)
        ?.AllowedByPermissionsBoundary,
    }));
  }
  return [
    {
      action,
      resource: result.EvalResourceName ?? '*',
      decision: result.EvalDecision ?? 'implicitDeny',
      matched: result.MatchedStatements ?? [],
      allowedByBoundary: result.PermissionsBoundaryDecisionDetail?.AllowedByPermissionsBoundary,
    },
  ];
}

// SourcePolicyType names where a policy comes from; a type AWS adds later matches any policy of the user.
const KINDS: Record<string, readonly PolicySource['kind'][]> = {
  user: ['inline'],
  group: ['group-inline'],
  'aws-managed': ['attached', 'group-attached'],
  'user-managed': ['attached', 'group-attached'],
};

/**
 * Names the policies and statements of `MatchedStatements`: the policy by its type and id (an inline
 * policy's name; a managed policy's name or ARN), the statement by the position AWS gives, which falls
 * inside exactly one statement of that policy's text.
 */
function attribute(
  answer: Answer,
  policies: readonly PolicyOfUser[],
  texts: readonly string[],
): SimulatedPermission {
  // Each policy of the user once, in the user's order (inline, attached, groups), with its matched statements.
  const found = new Map<number, Set<number>>();
  for (const m of answer.matched) {
    const kinds = KINDS[m.SourcePolicyType ?? ''];
    const id = m.SourcePolicyId ?? '';
    policies.forEach((p, i) => {
      if (kinds && !kinds.includes(p.source.kind)) return;
      if (id !== p.source.name && id !== p.source.arn) return;
      const indices = found.get(i) ?? new Set<number>();
      found.set(i, indices);
      const text = texts[i] ?? '';
      const start = m.StartPosition;
      if (!start?.Line || !start.Column) return;
      const offset = offsetOf(text, start.Line, start.Column);
      const index = statementSpans(text).findIndex((s) => offset >= s.start - 1 && offset <= s.end);
      if (index >= 0) indices.add(index);
    });
  }
  const order = [...found.keys()].sort((x, y) => x - y);
  const sources = order.map((i) => policies[i]?.label ?? '');
  const statements = order.flatMap((i) => {
    const p = policies[i];
    const indices = [...(found.get(i) ?? [])].sort((x, y) => x - y);
    return p ? indices.map((st) => `${p.label} ${statementLabel(p.document, st)}`) : [];
  });
  return {
    action: answer.action,
    resource: answer.resource,
    decision: answer.decision,
    sources,
    statements,
    ...(answer.allowedByBoundary === undefined ? {} : { allowedByBoundary: answer.allowedByBoundary }),
  };
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
