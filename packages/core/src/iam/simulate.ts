import { createHash } from 'node:crypto';
import { type RunSimulationResults, runSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import type { RegistryConfig } from '../config/index.ts';
import { publicRepositoryArn, repositoryArn } from '../ecr/reference.ts';
import { partitionOfRegion } from '../ecr/regions.ts';
import { PolicyEvaluationError } from '../errors.ts';
import { type EffectivePolicies, parsePolicyDocument, policySourceLabel } from './effective.ts';
import {
  type Permission,
  PRIVATE_PULL_ACTIONS,
  PRIVATE_TOKEN_ACTIONS,
  PUBLIC_PULL_ACTIONS,
  PUBLIC_TOKEN_ACTIONS,
  type PullScope,
  pullRepositoryArns,
  requiredPullPermissions,
} from './policy.ts';

/**
 * IAM policy evaluation with `@cloud-copilot/iam-simulate` (used as a library; AGPL, nothing copied). Two
 * consumers: the sandbox, which authorises every request of an IAM user with {@link isActionAllowed}, and
 * the audit check `iam.pull-policy-least-privilege`, which asks {@link evaluatePullAccess} what the pull
 * user's effective policies allow compared with NVCF's minimal policy.
 *
 * `sts:GetCallerIdentity` is always allowed for an authenticated principal, whatever the policies say:
 * AWS documents that no policy can deny it, and iam-simulate implements exactly that. The sandbox relies on
 * it: the rotation's "does the new key authenticate" probe must succeed even for a user with no policy.
 */

export type Decision = 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied';

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
  readonly policies: readonly { readonly name: string; readonly document: unknown }[];
  /**
   * Extra request context (`aws:SourceIp`, `aws:CurrentTime`, ...), merged over the defaults every IAM user
   * request has ({@link defaultRequestContext}).
   */
  readonly context?: Readonly<Record<string, string | string[]>> | undefined;
  /**
   * The resource's own policy, where the service has one that must also allow (a KMS key policy) or may
   * grant (an S3 bucket policy). Omitted: identity policies alone decide.
   */
  readonly resourcePolicy?: Record<string, unknown> | undefined;
}

export interface ActionDecision {
  readonly allowed: boolean;
  readonly decision: Decision;
}

/**
 * The context keys AWS sets on every signed request of an IAM user: who (`aws:PrincipalArn`,
 * `aws:PrincipalAccount`, `aws:PrincipalType`, `aws:username`, which policies use as `${aws:username}`)
 * and how (`aws:SecureTransport`: every SDK, NVCF and the sandbox's clients speak HTTPS semantics, so a
 * policy that requires TLS must not turn into a false "missing"). Keys the caller cannot know (source IP,
 * time) are left out: a statement conditioned on them does not match, as in AWS when the key is absent.
 */
export function defaultRequestContext(principalArn: string): Record<string, string> {
  const [, , , , account = '', resource = ''] = principalArn.split(':');
  const userName = resource.startsWith('user/') ? resource.slice(resource.lastIndexOf('/') + 1) : '';
  const ctx: Record<string, string> = {
    'aws:PrincipalArn': principalArn,
    'aws:PrincipalAccount': account,
    'aws:PrincipalType': 'User',
    'aws:SecureTransport': 'true',
  };
  if (userName) ctx['aws:username'] = userName;
  return ctx;
}

/** One resource iam-simulate judged: the request's own, or one a resource pattern expanded to. */
interface ResourceEvaluation {
  readonly resource: string;
  readonly decision: Decision;
  /** Indices (into the request's policies) of the policies whose statements allowed the request. */
  readonly allowedBy: readonly number[];
}

interface Evaluation {
  readonly decision: Decision;
  /** Indices (into the request's policies) of the policies whose statements allowed the request. */
  readonly allowedBy: readonly number[];
  /**
   * Each resource judged. For a concrete resource, that one; for a pattern (`*`, `arn:...:secret:prod/*`)
   * of an action that takes resources, every resource string of the policies' Allow statements that
   * overlaps it (the pattern itself when a statement names it), unless the pattern is denied outright.
   */
  readonly resources: readonly ResourceEvaluation[];
}

interface ParsedPolicy {
  readonly name: string;
  readonly document: Record<string, unknown>;
}

/**
 * iam-simulate's answers that say the request does not exist rather than that the policies are broken: an
 * unknown service or action, a resource the action does not take (or not `*` for an action without
 * resources), an ARN of several resource types. A statement naming such a pair grants nothing by it.
 */
const INAPPLICABLE = new Set([
  'invalid.service',
  'invalid.action',
  'must.use.wildcard',
  'no.resource.types',
  'multiple.resource.types',
]);

type Simulated =
  | { readonly kind: 'evaluated'; readonly evaluation: Evaluation }
  | { readonly kind: 'inapplicable'; readonly message: string };

/**
 * Evaluates one request against parsed identity policies (and, for probes, a resource policy). Throws
 * {@link PolicyEvaluationError} for anything iam-simulate refuses (invalid policy, unknown action, a
 * resource the action does not take) and for anything it throws.
 */
async function evaluate(
  request: Omit<ActionRequest, 'policies'>,
  policies: readonly ParsedPolicy[],
  resourcePolicy?: Record<string, unknown>,
): Promise<Evaluation> {
  const out = await simulate(request, policies, resourcePolicy);
  if (out.kind === 'inapplicable') throw new PolicyEvaluationError(out.message);
  return out.evaluation;
}

/**
 * {@link evaluate}, except that a request that does not exist (see {@link INAPPLICABLE}) is answered as
 * such instead of thrown: the probes derived from the policies' own statements meet those (a statement may
 * list `s3:GetObject` and `s3:ListBucket` on both a bucket and its objects, each action taking one of them).
 */
async function simulate(
  request: Omit<ActionRequest, 'policies'>,
  policies: readonly ParsedPolicy[],
  resourcePolicy?: Record<string, unknown>,
): Promise<Simulated> {
  const resourceAccount = /^\d{12}$/.test(request.resource.split(':')[4] ?? '')
    ? (request.resource.split(':')[4] as string)
    : request.accountId;
  // Policies are passed under their index so that two policies with the same name (an inline policy and a
  // group policy both called "pull") stay apart, and mapped back to their labels afterwards.
  const simulation: Simulation = {
    request: {
      principal: request.principalArn,
      action: request.action,
      resource: { resource: request.resource, accountId: resourceAccount },
      contextVariables: { ...defaultRequestContext(request.principalArn), ...request.context },
    },
    identityPolicies: policies.map((p, i) => ({ name: String(i), policy: p.document })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    ...(resourcePolicy ? { resourcePolicy } : {}),
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
  const allowers = (a: { identityAnalysis?: { allowStatements?: { policyId: string }[] } | undefined }) =>
    [...new Set((a.identityAnalysis?.allowStatements ?? []).map((s) => Number(s.policyId)))].sort(
      (x, y) => x - y,
    );
  const resources: ResourceEvaluation[] =
    result.resultType === 'single'
      ? [
          {
            resource: request.resource,
            decision: result.result.analysis.result,
            allowedBy: allowers(result.result.analysis),
          },
        ]
      : result.results.map((r) => ({
          resource: r.resourcePattern,
          decision: r.analysis.result,
          allowedBy: allowers(r.analysis),
        }));
  const allowedBy = [...new Set(resources.flatMap((r) => r.allowedBy))].sort((x, y) => x - y);
  return { kind: 'evaluated', evaluation: { decision: result.overallResult, allowedBy, resources } };
}

function describeErrors(
  errors: Extract<RunSimulationResults, { resultType: 'error' }>['errors'],
  request: Omit<ActionRequest, 'policies'>,
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

function parseAll(policies: ActionRequest['policies']): ParsedPolicy[] {
  return policies.map((p) => ({ name: p.name, document: parsePolicyDocument(p.document, p.name) }));
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

/**
 * Whether an IAM user's identity policies allow `action` on `resource`, as AWS decides for a request
 * without resource policy: an explicit Deny wins, otherwise an Allow is needed, and a resource of another
 * account is denied (cross-account access would need that account's resource policy). Memoised (see
 * above): a repeated request costs a hash and a map lookup instead of a simulation. A malformed policy,
 * an unknown action or a resource the action does not take throws {@link PolicyEvaluationError}.
 *
 * @example
 * const { allowed } = await isActionAllowed({ principalArn, accountId, action: 'ecr:BatchGetImage',
 *   resource: 'arn:aws:ecr:us-east-1:123456789012:repository/inference', policies });
 * if (!allowed) return accessDenied();
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
          request.policies.map((p) => [
            p.name,
            typeof p.document === 'string' ? p.document : JSON.stringify(p.document ?? null),
          ]),
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
    const { decision } = await evaluate(request, parseAll(request.policies), request.resourcePolicy);
    return { allowed: decision === 'Allowed', decision };
  })();
  if (decisions.size >= CACHE_LIMIT) {
    const oldest = decisions.keys().next().value;
    if (oldest !== undefined) decisions.delete(oldest);
  }
  decisions.set(key, pending);
  return pending;
}

/** An (action, resource) the pull user is allowed beyond what NVCF needs, and the policies that allow it. */
export interface GrantFinding extends Permission {
  /** Labels of the policies that allow it ({@link policySourceLabel}). */
  readonly sources: readonly string[];
}

/** An Allow statement whose Action or Resource is wider than the minimal policy. */
export interface WildcardFinding {
  readonly source: string;
  /** The statement's `Sid`, or `Statement[i]`. */
  readonly statement: string;
  readonly detail: string;
}

export interface PullAccessReport {
  /** NVCF needs it, and it is not allowed. */
  readonly missing: readonly Permission[];
  /**
   * Allowed, but beyond the minimum: every (action, resource) an Allow statement of the user's policies names
   * that the simulation allows, and a sample of dangerous actions on representative resources.
   */
  readonly excess: readonly GrantFinding[];
  /** Pull actions allowed on a repository that is not configured, in another region, or in another account. */
  readonly outOfScope: readonly GrantFinding[];
  /** Evidence read from the documents that explains the simulation's findings. */
  readonly wildcards: readonly WildcardFinding[];
  /** NVCF needs it, and it is allowed. */
  readonly allowedRequired: readonly Permission[];
}

/** A registry as {@link evaluatePullAccess} needs it: the pull scope, plus the rotated secret's name. */
export interface PullAccessScope extends PullScope {
  readonly secretName?: RegistryConfig['secretName'] | undefined;
}

export interface Probe extends Permission {
  /** A resource policy that lets identity policies decide (KMS key policy, foreign repository policy). */
  readonly resourcePolicy?: Record<string, unknown>;
}

/**
 * Compares what the pull user's effective policies allow with NVCF's minimal pull policy, by policy
 * *simulation* (statement order, Deny, NotAction, wildcards and conditions all count as AWS counts them):
 *
 * - `missing` / `allowedRequired`: each permission of {@link requiredPullPermissions};
 * - `excess` / `outOfScope`: what the policies themselves grant ({@link statementGrants}: every literal action
 *   of every Allow statement on every resource it names, simulated against all the policies, so a Deny or a
 *   condition elsewhere still decides), plus two fixed samples that catch what wildcard actions grant: the
 *   dangerous actions of {@link dangerousActionProbes} on representative resources, and the repository pull
 *   actions of {@link outOfScopeProbes} on repositories NVCF must not reach. An allowed pair that is not one
 *   of NVCF's required permissions is `outOfScope` when it is a pull action (of the registry's kind) on
 *   another repository, `excess` otherwise; each names the policies that allow it;
 * - `wildcards`: Allow statements with `*` actions or resources, `NotAction`, `NotResource`, read from the
 *   documents as supporting evidence.
 *
 * A resource in another account (a repository, a role to assume) is judged as if that account's resource
 * policy let the user's account in, and a KMS key as if its key policy delegated to IAM: the verdict is then
 * the user's own policies', which is what this audits.
 *
 * Throws {@link PolicyEvaluationError} naming the policy when a document is malformed.
 */
export async function evaluatePullAccess(
  registry: PullAccessScope,
  effective: EffectivePolicies,
): Promise<PullAccessReport> {
  const labels = effective.policies.map(policySourceLabel);
  const policies = effective.policies.map((p, i) => ({
    name: labels[i] ?? p.name,
    document: parsePolicyDocument(p.document, labels[i] ?? p.name),
  }));
  const base = { principalArn: effective.userArn, accountId: effective.accountId };
  const admission = (probe: Probe) =>
    probe.resourcePolicy ?? admissionPolicy(probe, effective.userArn, effective.accountId);
  const run = (probe: Probe) => evaluate({ ...base, ...probe }, policies, admission(probe));
  const sourcesOf = (allowedBy: readonly number[]) => allowedBy.map((i) => labels[i] ?? String(i));

  const required = requiredPullPermissions(registry);
  const missing: Permission[] = [];
  const allowedRequired: Permission[] = [];
  for (const p of required) {
    const e = await run(p);
    (e.decision === 'Allowed' ? allowedRequired : missing).push({ action: p.action, resource: p.resource });
  }
  const probeContext = {
    ...registry,
    userName: effective.userName,
    accountId: registry.accountId || effective.accountId,
    principalAccount: effective.accountId,
  };
  const sampled = async (probes: readonly Probe[]): Promise<GrantFinding[]> => {
    const out: GrantFinding[] = [];
    for (const p of probes) {
      const e = await run(p);
      if (e.decision === 'Allowed')
        out.push({ action: p.action, resource: p.resource, sources: sourcesOf(e.allowedBy) });
    }
    return out;
  };
  const excess = await sampled(dangerousActionProbes(probeContext));
  const outOfScope = await sampled(outOfScopeProbes(probeContext));

  // What the statements grant. Required pairs were simulated above; everything else the simulation allows
  // is beyond NVCF's minimum. A pattern resource is judged as iam-simulate judges a pattern request (allowed
  // when some resource it names is), and reported as written unless a concrete finding for the same action
  // on a resource it matches already shows it.
  const requiredKeys = new Set(required.map(grantKey));
  const pullActions = new Set<string>(
    (registry.kind === 'public' ? PUBLIC_PULL_ACTIONS : PRIVATE_PULL_ACTIONS).map((a) => a.toLowerCase()),
  );
  const context = defaultRequestContext(effective.userArn);
  const derived: GrantFinding[] = [];
  const seen = new Set<string>();
  for (const p of policies) {
    for (const grant of statementGrants(p.document, context)) {
      const key = grantKey(grant);
      if (requiredKeys.has(key) || seen.has(key)) continue;
      seen.add(key);
      // A concrete resource is asked for as AWS would see it (variables resolved); a pattern as written,
      // since iam-simulate matches a pattern request against the policies' patterns before it resolves
      // their variables. Its own verdict is the entry under that text.
      const asked = isPattern(grant.resource) ? grant.written : grant.resource;
      const probe = { action: grant.action, resource: asked };
      const out = await simulate({ ...base, ...probe }, policies, admission(probe));
      if (out.kind === 'inapplicable') continue;
      const judged = out.evaluation.resources.find((r) => r.resource === asked);
      if (judged?.decision === 'Allowed')
        derived.push({
          action: grant.action,
          resource: grant.resource,
          sources: sourcesOf(judged.allowedBy),
        });
    }
  }
  for (const g of derived) {
    const target = pullActions.has(g.action.toLowerCase()) ? outOfScope : excess;
    if (!shownBy(g, target)) target.push(g);
  }
  return {
    missing,
    excess,
    outOfScope,
    wildcards: policies.flatMap((p) => scanWildcards(p.name, p.document)),
    allowedRequired,
  };
}

/** IAM action names are case-insensitive; ARNs are not. */
function grantKey(p: Permission): string {
  return `${p.action.toLowerCase()} ${p.resource}`;
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
  const key = grantKey(found);
  if (list.some((g) => grantKey(g) === key)) return true;
  if (!isPattern(found.resource)) return false;
  const re = patternRegExp(found.resource);
  const action = found.action.toLowerCase();
  return list.some((g) => g.action.toLowerCase() === action && !isPattern(g.resource) && re.test(g.resource));
}

/**
 * The resource policy a probe is judged with, when the resource's own policy must also allow: a resource in
 * another account than the user's (whose policy is taken to admit the user's account: we cannot read it and
 * it is not the user's to change), and a KMS key (no identity policy can use a key whose key policy does not
 * delegate to IAM; the default key policy does).
 */
function admissionPolicy(
  probe: Permission,
  userArn: string,
  userAccount: string,
): Record<string, unknown> | undefined {
  const [, , service = '', , owner = ''] = probe.resource.split(':');
  const foreign = /^\d{12}$/.test(owner) && owner !== userAccount;
  if (!foreign && service !== 'kms') return undefined;
  return admitAccount(partitionOf(userArn), userAccount, [probe.action]);
}

/** One (action, resource) an Allow statement names. */
export interface StatementGrant extends Permission {
  /** The `Resource` entry as the statement writes it (`resource` is it with its policy variables resolved). */
  readonly written: string;
}

/**
 * Every (action, resource) the Allow statements of a document name: each literal action (no `*` or `?`) on
 * each `Resource` entry, with the policy variables of `context` resolved (`${aws:username}`, with its
 * default if it has one, and the escapes `${*}`, `${?}`, `${$}`). Wildcard actions, `NotAction` and
 * `NotResource` statements are not expanded: {@link scanWildcards} reports them, and the fixed samples of
 * {@link evaluatePullAccess} show what they grant. A resource naming a variable the audit cannot know (a
 * principal tag, the source IP) is left out: AWS resolves it per request, the audit cannot.
 */
export function statementGrants(
  document: Record<string, unknown>,
  context: Readonly<Record<string, string>>,
): StatementGrant[] {
  const raw = document['Statement'];
  const statements: unknown[] = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
  const known = new Map(Object.entries(context).map(([k, v]) => [k.toLowerCase(), v]));
  const out: StatementGrant[] = [];
  for (const st of statements) {
    if (st === null || typeof st !== 'object') continue;
    const s = st as Record<string, unknown>;
    if (s['Effect'] !== 'Allow' || 'NotAction' in s || 'NotResource' in s) continue;
    const actions = strings(s['Action']).filter((a) => !/[*?]/.test(a));
    for (const written of strings(s['Resource'])) {
      const resource = resolveVariables(written, known);
      if (resource === undefined) continue;
      for (const action of actions) out.push({ action, resource, written });
    }
  }
  return out;
}

/** `${aws:username}` → its value; `undefined` when a variable has neither a known value nor a default. */
function resolveVariables(resource: string, known: ReadonlyMap<string, string>): string | undefined {
  let unresolved = false;
  const value = resource.replace(/\$\{([^}]*)\}/g, (_, inner: string) => {
    if (inner === '*' || inner === '?' || inner === '$') return inner;
    const [name = '', fallback] = inner.split(/,(.*)/s);
    const v = known.get(name.trim().toLowerCase());
    if (v !== undefined) return v;
    const quoted = fallback?.trim().match(/^'(.*)'$/s);
    if (quoted) return quoted[1] ?? '';
    unresolved = true;
    return '';
  });
  return unresolved ? undefined : value;
}

export interface ProbeContext extends PullAccessScope {
  readonly userName: string;
  /** The pull user's account (the registry's account may differ). */
  readonly principalAccount: string;
}

/** A resource policy that lets `account`'s identity policies decide `actions` (cross-account access). */
function admitAccount(
  partition: string,
  account: string,
  actions: readonly string[],
): Record<string, unknown> {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'AdmitPrincipalAccount',
        Effect: 'Allow',
        Principal: { AWS: `arn:${partition}:iam::${account}:root` },
        Action: [...actions],
      },
    ],
  };
}

// A fixed, valid KMS key id: only its shape matters to the simulation.
const PROBE_KEY_ID = '0f1e2d3c-4b5a-4697-8a1b-2c3d4e5f6a7b';
const PROBE_NAME = 'nvcf-ecr-audit-probe';

/**
 * The sample of dangerous actions the audit probes, on resources that make each one matter to this user:
 * writes to the very repositories NVCF pulls from (image poisoning), key and policy management of the pull
 * user itself (a leaked key could mint a successor or widen its own rights), role passing and assumption,
 * data reads and writes (S3, Secrets Manager including the rotated secret itself, KMS), code execution.
 * The KMS probe carries the default key policy, under which IAM policies decide (without it, no identity
 * policy can use a KMS key and the probe would prove nothing).
 */
export function dangerousActionProbes(ctx: ProbeContext): Probe[] {
  const pub = ctx.kind === 'public';
  const partition = pub ? 'aws' : ctx.partition;
  const region = pub ? 'us-east-1' : ctx.region;
  // The repository belongs to the registry's account; everything else to the pull user's.
  const account = ctx.principalAccount;
  const repo = [...ctx.repositories].sort()[0] ?? PROBE_NAME;
  const repoArn = pub
    ? publicRepositoryArn(ctx.accountId, repo)
    : repositoryArn(partition, region, ctx.accountId, repo);
  const svc = pub ? 'ecr-public' : 'ecr';
  const user = `arn:${partition}:iam::${account}:user/${ctx.userName}`;
  const role = `arn:${partition}:iam::${account}:role/${PROBE_NAME}`;
  const object = `arn:${partition}:s3:::${PROBE_NAME}-bucket/object`;
  const secret = `arn:${partition}:secretsmanager:${region}:${account}:secret:${ctx.secretName ?? PROBE_NAME}-AbCdEf`;
  const key = `arn:${partition}:kms:${region}:${account}:key/${PROBE_KEY_ID}`;
  const keyPolicy = {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'Enable IAM User Permissions',
        Effect: 'Allow',
        Principal: { AWS: `arn:${partition}:iam::${account}:root` },
        Action: 'kms:*',
        Resource: '*',
      },
    ],
  };
  return [
    ...['PutImage', 'InitiateLayerUpload', 'BatchDeleteImage', 'SetRepositoryPolicy', 'DeleteRepository'].map(
      (a) => ({
        action: `${svc}:${a}`,
        resource: repoArn,
      }),
    ),
    { action: 'iam:CreateAccessKey', resource: user },
    { action: 'iam:UpdateAccessKey', resource: user },
    { action: 'iam:AttachUserPolicy', resource: user },
    { action: 'iam:PutUserPolicy', resource: user },
    { action: 'iam:PassRole', resource: role },
    { action: 'sts:AssumeRole', resource: role },
    { action: 's3:GetObject', resource: object },
    { action: 's3:PutObject', resource: object },
    { action: 's3:ListAllMyBuckets', resource: '*' },
    { action: 'secretsmanager:GetSecretValue', resource: secret },
    { action: 'kms:Decrypt', resource: key, resourcePolicy: keyPolicy },
    {
      action: 'lambda:InvokeFunction',
      resource: `arn:${partition}:lambda:${region}:${account}:function:${PROBE_NAME}`,
    },
    {
      action: 'ec2:RunInstances',
      resource: `arn:${partition}:ec2:${region}:${account}:instance/i-0123456789abcdef0`,
    },
  ];
}

/**
 * The repository pull actions on repositories NVCF must not reach: a repository of the same registry that
 * is not configured, a configured name in another region of the partition (private registries), and a
 * configured name in another account (whose repository policy {@link evaluatePullAccess} takes to admit
 * the user's account, so that the verdict is the user's identity policies' alone).
 */
export function outOfScopeProbes(ctx: ProbeContext): Probe[] {
  const pub = ctx.kind === 'public';
  const partition = pub ? 'aws' : ctx.partition;
  const actions: readonly string[] = pub ? PUBLIC_PULL_ACTIONS : PRIVATE_PULL_ACTIONS;
  const account = ctx.accountId;
  const repo = [...ctx.repositories].sort()[0] ?? PROBE_NAME;
  let unconfigured = `${PROBE_NAME}/not-configured`;
  while (ctx.repositories.includes(unconfigured)) unconfigured += '-x';
  const otherAccount =
    ['210987654321', '123456789012', '111122223333'].find(
      (a) => a !== account && a !== ctx.principalAccount,
    ) ?? '';
  const arn = (acct: string, region: string, name: string) =>
    pub ? publicRepositoryArn(acct, name) : repositoryArn(partition, region, acct, name);
  const otherRegion = pub ? undefined : partitionOfRegion(ctx.region)?.regions.find((r) => r !== ctx.region);
  const probes: Probe[] = [];
  for (const action of actions) {
    probes.push({ action, resource: arn(account, ctx.region, unconfigured) });
    if (otherRegion) probes.push({ action, resource: arn(account, otherRegion, repo) });
    probes.push({ action, resource: arn(otherAccount, ctx.region, repo) });
  }
  // Probes never coincide with a configured repository ARN (they would be required, not out of scope).
  const configured = new Set(pullRepositoryArns(ctx));
  return probes.filter((p) => !configured.has(p.resource));
}

// Actions that take no resource: `*` is their only possible Resource, so it is not a finding for them.
const RESOURCELESS = new Set<string>([...PRIVATE_TOKEN_ACTIONS, ...PUBLIC_TOKEN_ACTIONS]);

/**
 * Allow statements wider than the minimal policy, read from a document: `*`/`*:*`/`service:*` or other
 * action patterns, `NotAction`, `NotResource`, and `*` or pattern resources for actions that take a
 * resource. One finding per statement, its reasons joined.
 */
export function scanWildcards(source: string, document: Record<string, unknown>): WildcardFinding[] {
  const raw = document['Statement'];
  const statements: unknown[] = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
  const findings: WildcardFinding[] = [];
  statements.forEach((st, i) => {
    if (st === null || typeof st !== 'object') return;
    const s = st as Record<string, unknown>;
    if (s['Effect'] !== 'Allow') return;
    const id =
      typeof s['Sid'] === 'string' && s['Sid'] !== ''
        ? s['Sid']
        : Array.isArray(raw)
          ? `Statement[${i}]`
          : 'Statement';
    const details: string[] = [];
    const actions = strings(s['Action']);
    if ('NotAction' in s)
      details.push(`NotAction allows every action except ${list(strings(s['NotAction']))}`);
    for (const a of actions) {
      if (a === '*' || a === '*:*') details.push(`Action '${a}' allows every action of every service`);
      else if (/^[^:]+:\*$/.test(a)) details.push(`Action '${a}' allows every ${a.slice(0, -2)} action`);
      else if (/[*?]/.test(a))
        details.push(`Action '${a}' is a pattern that matches more than the actions NVCF needs`);
    }
    const scoped =
      'NotAction' in s ? ['every action but those listed'] : actions.filter((a) => !RESOURCELESS.has(a));
    const scopedText = scoped.some((a) => a === '*' || a === '*:*') ? 'every action' : list(scoped);
    if ('NotResource' in s)
      details.push(`NotResource applies to every resource except ${list(strings(s['NotResource']))}`);
    for (const r of strings(s['Resource'])) {
      if (r === '*' && scoped.length > 0) {
        details.push(
          `Resource '*' for ${scopedText}: repository actions must name the configured repository ARNs`,
        );
      } else if (r !== '*' && /[*?]/.test(r)) {
        details.push(
          `Resource '${r}' is a pattern that can match resources beyond the configured repositories`,
        );
      }
    }
    if (details.length > 0) findings.push({ source, statement: id, detail: details.join('; ') });
  });
  return findings;
}

function strings(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

function partitionOf(arn: string): string {
  return arn.split(':')[1] || 'aws';
}

function list(items: readonly string[]): string {
  return items.length === 0 ? '(none)' : items.join(', ');
}
