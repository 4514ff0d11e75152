import { PolicyEvaluationError } from '@nvcf-ecr/core/errors';
import { policyText, positionOf, statementSpans } from '@nvcf-ecr/core/iam';
import { ServiceError } from '../../errors.ts';
import { type Decision, evaluateRequest, type NamedPolicy, type StatementRef } from '../../iam/engine.ts';
import type { QueryOperation } from '../../server/aws.ts';
import type { XmlObject } from '../../server/xml.ts';
import type { EffectivePolicy, IamBackend } from './backend.ts';
import { iamErrors } from './errors.ts';
import { NAME, query } from './params.ts';

/**
 * `iam:SimulatePrincipalPolicy` and the permissions boundary operations
 * (https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html,
 * API_PutUserPermissionsBoundary.html, API_DeleteUserPermissionsBoundary.html). The simulation evaluates
 * the principal's inline, attached and group policies with its permissions boundary, as the sandbox's own
 * authorisation does (`iam/engine.ts`), and answers in IAM's shape: one `EvaluationResult` per (action,
 * resource), `allowed | explicitDeny | implicitDeny`, the deciding statements in `MatchedStatements` (the
 * Allows for an allowed request, the Denies for an explicit deny, none for an implicit deny) with their
 * 1-based line and column in the policy's stored text, and `PermissionsBoundaryDecisionDetail` when the
 * principal has a boundary. Fidelity choices (AWS documents none of them) are in packages/sandbox/README.md.
 */

const DECISIONS: Record<Decision, string> = {
  Allowed: 'allowed',
  ExplicitlyDenied: 'explicitDeny',
  ImplicitlyDenied: 'implicitDeny',
};

/** `Name.member.1`, `Name.member.2`, ... of a Query request. */
function members(params: URLSearchParams, name: string): string[] {
  const out: string[] = [];
  for (let i = 1; params.has(`${name}.member.${i}`); i++) out.push(params.get(`${name}.member.${i}`) ?? '');
  return out;
}

function contextOf(params: URLSearchParams): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (let i = 1; params.has(`ContextEntries.member.${i}.ContextKeyName`); i++) {
    const name = params.get(`ContextEntries.member.${i}.ContextKeyName`) ?? '';
    const values = members(params, `ContextEntries.member.${i}.ContextKeyValues`);
    const type = params.get(`ContextEntries.member.${i}.ContextKeyType`) ?? 'string';
    out[name] = type.endsWith('List') ? values : (values[0] ?? '');
  }
  return out;
}

interface Principal {
  readonly arn: string;
  readonly userName?: string;
  readonly policies: EffectivePolicy[];
  readonly boundary?: NamedPolicy | undefined;
}

/** The user or group `PolicySourceArn` names; NoSuchEntity when this account has none by that name. */
function principalOf(iam: IamBackend, arn: string): Principal {
  const m = /^arn:([\w-]+):iam::(\d{12}):(user|group|role)\/(?:[\w+=,.@/-]*\/)?([\w+=,.@-]+)$/.exec(arn);
  if (!m)
    throw iamErrors.invalidInput(`Invalid ARN ${arn}: PolicySourceArn must name an IAM user, group or role.`);
  const [, partition, account, kind, name = ''] = m;
  if (partition !== iam.partition || account !== iam.accountId || kind === 'role') {
    throw new ServiceError('NoSuchEntity', `The ${kind} with name ${name} cannot be found.`, 404);
  }
  if (kind === 'group') {
    const g = iam.getGroup(name);
    const policies: EffectivePolicy[] = Object.entries(g.inline).map(([n, document]) => ({
      kind: 'group-inline',
      name: n,
      group: g.groupName,
      document,
    }));
    for (const a of g.attached) {
      const p = iam.policies.get(a);
      const v = p?.versions.find((x) => x.isDefault);
      if (p && v)
        policies.push({
          kind: 'group-attached',
          name: p.policyName,
          arn: a,
          group: name,
          document: v.document,
        });
    }
    return { arn, policies };
  }
  return {
    arn,
    userName: name,
    policies: iam.effectivePolicies(name),
    boundary: iam.boundaryOf(name),
  };
}

/**
 * A resource policy under which the identity policies alone decide, for a resource that needs one: another
 * account's resource (cross-account access needs its policy) and a KMS key (no identity policy can use a key
 * whose key policy does not delegate to IAM). `SimulatePrincipalPolicy` reads no resource policy unless given
 * one, so its answer is the identity policies' verdict.
 */
function admission(
  resource: string,
  action: string,
  partition: string,
  account: string,
): Record<string, unknown> | undefined {
  const [, , service = '', , owner = ''] = resource.split(':');
  const foreign = /^\d{12}$/.test(owner) && owner !== account;
  if (!foreign && service !== 'kms') return undefined;
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { AWS: `arn:${partition}:iam::${account}:root` },
        Action: action,
        Resource: '*',
      },
    ],
  };
}

function sourceType(iam: IamBackend, p: EffectivePolicy): string {
  if (p.kind === 'inline') return 'user';
  if (p.kind === 'group-inline') return 'group';
  return iam.policies.get(p.arn ?? '')?.awsManaged ? 'aws-managed' : 'user-managed';
}

function matched(
  iam: IamBackend,
  policies: readonly EffectivePolicy[],
  refs: readonly StatementRef[],
): XmlObject[] {
  return refs.flatMap((r) => {
    const p = policies[r.policy];
    if (!p) return [];
    const text = policyText(p.document);
    const span = statementSpans(text)[r.statement - 1];
    return [
      {
        SourcePolicyId: p.name,
        SourcePolicyType: sourceType(iam, p),
        ...(span
          ? { StartPosition: positionOf(text, span.start), EndPosition: positionOf(text, span.end) }
          : {}),
      },
    ];
  });
}

export function simulateHandlers(iam: IamBackend): Record<string, QueryOperation> {
  return {
    async SimulatePrincipalPolicy(ctx, p) {
      const source = p.get('PolicySourceArn');
      if (!source) throw iamErrors.validation('policySourceArn', undefined, 'Member must not be null');
      const actions = members(p, 'ActionNames');
      if (actions.length === 0)
        throw iamErrors.validation('actionNames', undefined, 'Member must not be null');
      await ctx.authorize('iam:SimulatePrincipalPolicy', source);
      const principal = principalOf(iam, source);
      const resources = members(p, 'ResourceArns');
      const context = contextOf(p);
      const given = p.get('ResourcePolicy');
      let resourcePolicy: Record<string, unknown> | undefined;
      if (given) {
        try {
          resourcePolicy = JSON.parse(given) as Record<string, unknown>;
        } catch {
          throw iamErrors.malformedPolicy('Syntax errors in policy.');
        }
      }
      const extra = members(p, 'PolicyInputList').map((document, i) => ({
        kind: 'inline' as const,
        name: `PolicyInputList.${i + 1}`,
        document,
      }));
      const policies = [...principal.policies, ...extra];
      const boundaryInput = members(p, 'PermissionsBoundaryPolicyInputList')[0];
      const boundary = boundaryInput
        ? { name: 'PermissionsBoundaryPolicyInputList.1', document: boundaryInput }
        : principal.boundary;
      const results: XmlObject[] = [];
      for (const action of actions) {
        for (const resource of resources.length > 0 ? resources : ['*']) {
          results.push(
            await evaluateOne(
              iam,
              { principal, policies, boundary, context, resourcePolicy },
              action,
              resource,
            ),
          );
        }
      }
      const max = Math.min(Math.max(Number(p.get('MaxItems') ?? '100') || 100, 1), 1000);
      const start = Number(p.get('Marker') ?? '0') || 0;
      const next = start + max;
      return {
        EvaluationResults: results.slice(start, next),
        IsTruncated: next < results.length,
        ...(next < results.length ? { Marker: String(next) } : {}),
      };
    },
    async PutUserPermissionsBoundary(ctx, p) {
      const name = query(p).str('UserName', { required: true, pattern: NAME, max: 64 });
      const arn = query(p).str('PermissionsBoundary', { required: true, pattern: /^arn:.+$/, max: 2048 });
      if (!/^arn:[\w-]+:iam::(\d{12}|aws):policy\/.+$/.test(arn))
        throw iamErrors.invalidInput(`ARN ${arn} is not valid.`);
      await ctx.authorize('iam:PutUserPermissionsBoundary', iam.userArn(name, iam.users.get(name)?.path));
      const u = iam.getUser(name);
      iam.getPolicy(arn);
      u.permissionsBoundary = arn;
      return {};
    },
    async DeleteUserPermissionsBoundary(ctx, p) {
      const name = query(p).str('UserName', { required: true, pattern: NAME, max: 64 });
      await ctx.authorize('iam:DeleteUserPermissionsBoundary', iam.userArn(name, iam.users.get(name)?.path));
      const u = iam.getUser(name);
      // AWS does not document the answer for a user without a boundary; the sandbox refuses (pessimistic).
      if (!u.permissionsBoundary)
        throw new ServiceError(
          'NoSuchEntity',
          `The user with name ${name} has no permissions boundary.`,
          404,
        );
      u.permissionsBoundary = undefined;
      return {};
    },
  };
}

interface SimulationInput {
  readonly principal: Principal;
  readonly policies: readonly EffectivePolicy[];
  readonly boundary: NamedPolicy | undefined;
  readonly context: Record<string, string | string[]>;
  readonly resourcePolicy: Record<string, unknown> | undefined;
}

/**
 * One (action, resource). A pair that cannot be a request (an unknown action, a resource the action does not
 * take) is answered `implicitDeny` with no statement: a statement naming it grants nothing a request can use.
 * A resource pattern is judged as AWS matches it against the policies' own patterns: the verdict for the
 * pattern as written.
 */
async function evaluateOne(
  iam: IamBackend,
  input: SimulationInput,
  action: string,
  resource: string,
): Promise<XmlObject> {
  const base = { EvalActionName: action, EvalResourceName: resource };
  let out: Awaited<ReturnType<typeof evaluateRequest>>;
  try {
    out = await evaluateRequest({
      principalArn: input.principal.arn,
      accountId: iam.accountId,
      action,
      resource,
      policies: input.policies.map((p) => ({ name: p.name, document: p.document })),
      boundary: input.boundary,
      context: input.context,
      resourcePolicy: input.resourcePolicy ?? admission(resource, action, iam.partition, iam.accountId),
    });
  } catch (err) {
    if (err instanceof PolicyEvaluationError) throw new ServiceError('PolicyEvaluation', err.message, 500);
    throw err;
  }
  if (out.kind === 'inapplicable')
    return { ...base, EvalDecision: 'implicitDeny', MatchedStatements: [], MissingContextValues: [] };
  const judged =
    out.evaluation.resources.find((r) => r.resource === resource) ??
    (out.evaluation.resources.length === 1 ? out.evaluation.resources[0] : undefined);
  const decision = judged?.decision ?? out.evaluation.decision;
  const refs =
    decision === 'Allowed'
      ? judged?.allowStatements
      : decision === 'ExplicitlyDenied'
        ? judged?.denyStatements
        : [];
  return {
    ...base,
    EvalDecision: DECISIONS[decision],
    MatchedStatements: matched(iam, input.policies, refs ?? []),
    MissingContextValues: [],
    ...(input.boundary
      ? {
          PermissionsBoundaryDecisionDetail: {
            AllowedByPermissionsBoundary: judged?.boundaryAllowed ?? false,
          },
        }
      : {}),
  };
}
