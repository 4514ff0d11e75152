import { createHash } from 'node:crypto';
import { type RunSimulationResults, runSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import { PolicyEvaluationError } from '@nvcf-ecr/core/errors';
import { defaultRequestContext, parsePolicyDocument } from '@nvcf-ecr/core/iam';

/**
 * The sandbox's IAM policy engine: `@cloud-copilot/iam-simulate` (AGPL-3.0-or-later, used as an unmodified
 * library; nothing copied). It lives here, in the development-only sandbox, and nowhere in what users deploy
 * or install (packages/sandbox/README.md, "Licence"). Two consumers: the front door, which authorises every
 * request of an IAM user with {@link isActionAllowed}, and the emulation of `iam:SimulatePrincipalPolicy`
 * (`services/iam/simulate.ts`), which needs the matched statements too ({@link evaluateRequest}).
 *
 * `sts:GetCallerIdentity` is always allowed for an authenticated principal, whatever the policies say: AWS
 * documents that no policy can deny it, and iam-simulate implements exactly that. The rotation's "does the
 * new key authenticate" probe relies on it.
 */

export type Decision = 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied';

export interface NamedPolicy {
  readonly name: string;
  readonly document: unknown;
}

export interface ActionRequest {
  /** The IAM user making the request, e.g. `arn:aws:iam::123456789012:user/nvcf-ecr-prod`. */
  readonly principalArn: string;
  /** Account that owns the resource when its ARN does not name one (`*`, S3 buckets): the request's account. */
  readonly accountId: string;
  /** `service:Action`, e.g. `ecr:BatchGetImage`. */
  readonly action: string;
  /** The resource ARN, or `*` for actions that take none (`ecr:GetAuthorizationToken`). */
  readonly resource: string;
  /** Every identity policy of the principal (inline, attached, group). */
  readonly policies: readonly NamedPolicy[];
  /** The principal's permissions boundary, when it has one: it caps what the identity policies allow. */
  readonly boundary?: NamedPolicy | undefined;
  /** Extra request context (`aws:SourceIp`, ...), merged over core's `defaultRequestContext`. */
  readonly context?: Readonly<Record<string, string | string[]>> | undefined;
  /** The resource's own policy (a KMS key policy, an S3 bucket policy). Omitted: identity policies alone decide. */
  readonly resourcePolicy?: Record<string, unknown> | undefined;
}

export interface ActionDecision {
  readonly allowed: boolean;
  readonly decision: Decision;
}

/** A statement of one of the request's identity policies: its index there, and its 1-based position in it. */
export interface StatementRef {
  readonly policy: number;
  readonly statement: number;
}

/** One resource the engine judged: the request's own, or one a resource pattern expanded to. */
export interface ResourceEvaluation {
  readonly resource: string;
  readonly decision: Decision;
  /** Identity statements that allowed it. */
  readonly allowStatements: readonly StatementRef[];
  /** Identity statements that denied it explicitly. */
  readonly denyStatements: readonly StatementRef[];
  /** Whether the permissions boundary allowed it; undefined without a boundary. */
  readonly boundaryAllowed?: boolean | undefined;
}

export interface Evaluation {
  readonly decision: Decision;
  readonly resources: readonly ResourceEvaluation[];
}

/**
 * iam-simulate's answers that say the request does not exist rather than that the policies are broken: an
 * unknown service or action, a resource the action does not take (or not `*` for an action without
 * resources), an ARN of several resource types.
 */
const INAPPLICABLE = new Set([
  'invalid.service',
  'invalid.action',
  'must.use.wildcard',
  'no.resource.types',
  'multiple.resource.types',
]);

export type Simulated =
  | { readonly kind: 'evaluated'; readonly evaluation: Evaluation }
  | { readonly kind: 'inapplicable'; readonly message: string };

interface ParsedPolicy {
  readonly name: string;
  readonly document: Record<string, unknown>;
}

function parseAll(policies: readonly NamedPolicy[]): ParsedPolicy[] {
  return policies.map((p) => ({
    name: p.name,
    document: withContextKeysEncoded(parsePolicyDocument(p.document, p.name)),
  }));
}

/**
 * KMS's `kms:EncryptionContext:<key>` condition keys (https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-encryption-context)
 * put their variable after a colon; iam-simulate recognises a variable only after a slash (`aws:RequestTag/<key>`)
 * and silently drops such a request context key, so every condition on it would fail. Both sides — the
 * policies' condition keys and the request context — are carried under one slash-variable global key, which the
 * simulator compares with the same operators; the key names the encryption-context key unchanged, so nothing
 * else can match it (no tag key starts with `kms:EncryptionContext:` in a request this sandbox evaluates).
 */
const ENCRYPTION_CONTEXT = /^kms:encryptioncontext:/i;
const encodeKey = (key: string) => (ENCRYPTION_CONTEXT.test(key) ? `aws:RequestTag/${key}` : key);

function withContextKeysEncoded(document: Record<string, unknown>): Record<string, unknown> {
  const statements = document['Statement'];
  if (!Array.isArray(statements)) return document;
  const encoded = statements.map((st: unknown) => {
    const condition = (st as { Condition?: unknown } | null)?.Condition;
    if (!condition || typeof condition !== 'object') return st;
    const operators = Object.entries(condition as Record<string, unknown>).map(([op, keys]) => [
      op,
      keys && typeof keys === 'object'
        ? Object.fromEntries(Object.entries(keys).map(([k, v]) => [encodeKey(k), v]))
        : keys,
    ]);
    return { ...(st as Record<string, unknown>), Condition: Object.fromEntries(operators) };
  });
  return { ...document, Statement: encoded };
}

function encodedContext(
  context: Readonly<Record<string, string | string[]>>,
): Record<string, string | string[]> {
  return Object.fromEntries(Object.entries(context).map(([k, v]) => [encodeKey(k), v]));
}

/**
 * Evaluates one request. A request that does not exist (see {@link INAPPLICABLE}) is answered as such;
 * anything else iam-simulate refuses (an invalid policy) throws {@link PolicyEvaluationError}.
 */
export async function evaluateRequest(request: ActionRequest): Promise<Simulated> {
  const policies = parseAll(request.policies);
  const boundary = request.boundary ? parseAll([request.boundary]) : [];
  const owner = request.resource.split(':')[4] ?? '';
  const resourceAccount = /^\d{12}$/.test(owner) ? owner : request.accountId;
  // Policies are passed under their index so that two policies with the same name (an inline policy and a
  // group policy both called "pull") stay apart.
  const simulation: Simulation = {
    request: {
      principal: request.principalArn,
      action: request.action,
      resource: { resource: request.resource, accountId: resourceAccount },
      contextVariables: encodedContext({
        ...defaultRequestContext(request.principalArn),
        ...request.context,
      }),
    },
    identityPolicies: policies.map((p, i) => ({ name: String(i), policy: p.document })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    ...(boundary.length > 0
      ? { permissionBoundaryPolicies: boundary.map((p) => ({ name: 'boundary', policy: p.document })) }
      : {}),
    ...(request.resourcePolicy ? { resourcePolicy: withContextKeysEncoded(request.resourcePolicy) } : {}),
  };
  let result: RunSimulationResults;
  try {
    result = await runSimulation(simulation, { simulationMode: 'Strict' });
  } catch (err) {
    throw new PolicyEvaluationError(
      `Could not evaluate ${request.action} on ${request.resource}: ${(err as Error).message}; check the policy documents`,
      { cause: err },
    );
  }
  if (result.resultType === 'error') {
    const message = describeErrors(result.errors, request, policies);
    if (!result.errors.identityPolicyErrors && INAPPLICABLE.has(result.errors.message))
      return { kind: 'inapplicable', message };
    throw new PolicyEvaluationError(message);
  }
  const judged =
    result.resultType === 'single'
      ? [{ resource: request.resource, analysis: result.result.analysis }]
      : result.results.map((r) => ({ resource: r.resourcePattern, analysis: r.analysis }));
  const resources = judged.map(({ resource, analysis }) => ({
    resource,
    decision: analysis.result,
    allowStatements: refs(analysis.identityAnalysis?.allowStatements),
    denyStatements: refs(analysis.identityAnalysis?.denyStatements),
    boundaryAllowed:
      boundary.length > 0 ? analysis.permissionBoundaryAnalysis?.result === 'Allowed' : undefined,
  }));
  return { kind: 'evaluated', evaluation: { decision: result.overallResult, resources } };
}

function refs(
  statements: readonly { policyId: string; statement: { index(): number } }[] | undefined,
): StatementRef[] {
  return (statements ?? [])
    .map((s) => ({ policy: Number(s.policyId), statement: s.statement.index() }))
    .sort((a, b) => a.policy - b.policy || a.statement - b.statement);
}

function describeErrors(
  errors: Extract<RunSimulationResults, { resultType: 'error' }>['errors'],
  request: Pick<ActionRequest, 'action' | 'resource'>,
  policies: readonly ParsedPolicy[],
): string {
  if (errors.identityPolicyErrors) {
    const parts = Object.entries(errors.identityPolicyErrors).map(([index, list]) => {
      const name = policies[Number(index)]?.name ?? index;
      const problems = list.map((e) => `${e.path ? `${e.path}: ` : ''}${e.message}`).join('; ');
      return `policy ${name} is not a valid IAM identity policy (${problems})`;
    });
    return `Cannot evaluate ${request.action}: ${parts.join(', ')}: fix the document`;
  }
  switch (errors.message) {
    case 'invalid.service':
    case 'invalid.action':
      return `'${request.action}' is not a known IAM action: use service:Action, e.g. ecr:BatchGetImage`;
    case 'must.use.wildcard':
      return `${request.action} takes no resource: evaluate it on '*', not '${request.resource}'`;
    case 'no.resource.types':
      return `'${request.resource}' is not a resource ${request.action} acts on: pass the ARN of one, or '*' for actions without resources`;
    case 'multiple.resource.types':
      return `'${request.resource}' matches several resource types of ${request.action}: pass a more specific ARN`;
    default:
      return `Cannot evaluate ${request.action} on ${request.resource}: ${errors.message}`;
  }
}

// The sandbox authorises every request, mostly the same few (user, action, resource) over and over, so
// decisions are memoised by a hash of everything that decides them. Documents are hashed by content, not
// identity: a policy replaced in place (PutUserPolicy) must not be answered from the old entry. The cache
// is bounded (oldest entries dropped first) so a long-running sandbox does not grow without limit.
const CACHE_LIMIT = 10_000;
const decisions = new Map<string, Promise<ActionDecision>>();

/** Empties the decision cache of {@link isActionAllowed} (tests; the sandbox's reset). */
export function clearPolicyEvaluationCache(): void {
  decisions.clear();
}

const documentText = (d: unknown) => (typeof d === 'string' ? d : JSON.stringify(d ?? null));

/**
 * Whether an IAM user's identity policies (within its permissions boundary) allow `action` on `resource`, as
 * AWS decides for a request without resource policy: an explicit Deny wins, otherwise an Allow is needed
 * (and the boundary's Allow too), and a resource of another account is denied (cross-account access would
 * need that account's resource policy). Memoised. A malformed policy, an unknown action or a resource the
 * action does not take rejects with {@link PolicyEvaluationError}.
 */
export function isActionAllowed(request: ActionRequest): Promise<ActionDecision> {
  let key: string;
  try {
    key = createHash('sha256')
      .update(
        JSON.stringify([
          request.principalArn,
          request.accountId,
          request.action,
          request.resource,
          request.context ?? null,
          request.resourcePolicy ?? null,
          request.boundary ? documentText(request.boundary.document) : null,
          request.policies.map((p) => [p.name, documentText(p.document)]),
        ]),
      )
      .digest('base64');
  } catch (err) {
    // A cyclic or otherwise unserialisable document is malformed too: reject, never throw synchronously.
    return Promise.reject(
      new PolicyEvaluationError(
        `Cannot evaluate ${String(request?.action)}: the policies are not JSON documents (${(err as Error).message})`,
        { cause: err },
      ),
    );
  }
  const cached = decisions.get(key);
  if (cached) return cached;
  const pending = (async (): Promise<ActionDecision> => {
    const out = await evaluateRequest(request);
    if (out.kind === 'inapplicable') throw new PolicyEvaluationError(out.message);
    const { decision } = out.evaluation;
    return { allowed: decision === 'Allowed', decision };
  })();
  if (decisions.size >= CACHE_LIMIT) {
    const oldest = decisions.keys().next().value;
    if (oldest !== undefined) decisions.delete(oldest);
  }
  decisions.set(key, pending);
  return pending;
}
