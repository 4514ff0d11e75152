import {
  GetGroupPolicyCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  GetUserCommand,
  GetUserPolicyCommand,
  type IAMClient,
  ListAttachedGroupPoliciesCommand,
  ListAttachedUserPoliciesCommand,
  ListGroupPoliciesCommand,
  ListGroupsForUserCommand,
  ListUserPoliciesCommand,
} from '@aws-sdk/client-iam';
import { PolicyEvaluationError } from '../errors.ts';

/**
 * A user's *effective* identity policies: inline, attached, and those of every group it belongs to. The
 * audit evaluates all of them together, because a permission granted through a group is granted all the
 * same (checks that look at customer-managed policies only miss it, e.g.
 * https://docs.aws.amazon.com/config/latest/developerguide/iam-policy-no-statements-with-admin-access.html).
 */

/** One identity policy that applies to the user, and where it comes from. */
export interface PolicySource {
  readonly kind: 'inline' | 'attached' | 'group-inline' | 'group-attached';
  /** Inline policy name, or managed policy name. */
  readonly name: string;
  /** Managed policy ARN (attached kinds). */
  readonly arn?: string | undefined;
  /** Group name (group kinds). */
  readonly group?: string | undefined;
  /** The policy document: an object, a JSON string, or IAM's URL-encoded JSON string. */
  readonly document: unknown;
}

export interface EffectivePolicies {
  readonly userName: string;
  readonly userArn: string;
  readonly accountId: string;
  readonly policies: readonly PolicySource[];
}

/**
 * How findings name a policy: `inline nvcf-pull`, `attached arn:aws:iam::aws:policy/AdministratorAccess`,
 * `group AdminsGroup / attached arn:aws:iam::aws:policy/AdministratorAccess`, `group Ops / inline s3-all`.
 */
export function policySourceLabel(source: Pick<PolicySource, 'kind' | 'name' | 'arn' | 'group'>): string {
  const own = source.kind.endsWith('inline')
    ? `inline ${source.name}`
    : `attached ${source.arn ?? source.name}`;
  return source.kind.startsWith('group') ? `group ${source.group ?? '?'} / ${own}` : own;
}

/**
 * A policy document as a plain object. IAM's API returns documents URL-encoded (RFC 3986) JSON; the SDK
 * does not decode them, so both that and plain JSON text are accepted. Throws {@link PolicyEvaluationError}
 * naming the policy when the text is neither.
 */
export function parsePolicyDocument(document: unknown, label: string): Record<string, unknown> {
  let value = document;
  if (typeof value === 'string') {
    const text = value.trim();
    let json = text;
    if (!text.startsWith('{')) {
      try {
        json = decodeURIComponent(text);
      } catch (err) {
        throw new PolicyEvaluationError(
          `Policy ${label} is neither JSON nor URL-encoded JSON: fix the document`,
          {
            cause: err,
          },
        );
      }
    }
    try {
      value = JSON.parse(json) as unknown;
    } catch (err) {
      throw new PolicyEvaluationError(
        `Policy ${label} is not valid JSON (${(err as Error).message}): fix the document`,
        { cause: err },
      );
    }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    const got = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
    throw new PolicyEvaluationError(
      `Policy ${label} must be a JSON object with Version and Statement, got ${got}: fix the document`,
    );
  }
  return value as Record<string, unknown>;
}

/** What {@link loadEffectivePolicies} needs from IAM: an SDK v3 IAM client (or anything with its `send`). */
export type IamReader = Pick<IAMClient, 'send'>;

/** A user whose ARN the caller already read (the audit's `GetUser`), so it is not read again. */
export interface KnownUser {
  readonly name: string;
  readonly arn: string;
}

/**
 * Reads a user's effective identity policies from live IAM (never the credential report, regenerated at most
 * every 4 hours:
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/iam_example_iam_GenerateCredentialReport_section.html):
 * inline and attached policies of the user and of each of its groups, with managed policies resolved to their
 * default version. Each managed policy is fetched once even when attached in several places. Pagination is
 * followed to the end. Given a user name, `GetUser` reads its ARN; given a {@link KnownUser}, nothing is read
 * twice.
 */
export async function loadEffectivePolicies(
  iam: IamReader,
  who: string | KnownUser,
): Promise<EffectivePolicies> {
  const user =
    typeof who === 'string'
      ? (await iam.send(new GetUserCommand({ UserName: who }))).User
      : { UserName: who.name, Arn: who.arn };
  const userName = typeof who === 'string' ? who : who.name;
  const userArn = user?.Arn ?? '';
  const accountId = userArn.split(':')[4] ?? '';
  const policies: PolicySource[] = [];
  const managed = new Map<string, Promise<{ name: string; document: unknown }>>();
  const loadManaged = (arn: string, fallbackName: string) => {
    let p = managed.get(arn);
    if (!p) {
      p = (async () => {
        const policy = (await iam.send(new GetPolicyCommand({ PolicyArn: arn }))).Policy;
        const version = await iam.send(
          new GetPolicyVersionCommand({ PolicyArn: arn, VersionId: policy?.DefaultVersionId }),
        );
        return { name: policy?.PolicyName ?? fallbackName, document: version.PolicyVersion?.Document };
      })();
      managed.set(arn, p);
    }
    return p;
  };

  for (const name of await pages(
    (Marker) => iam.send(new ListUserPoliciesCommand({ UserName: userName, Marker })),
    (r) => r.PolicyNames,
  )) {
    const doc = await iam.send(new GetUserPolicyCommand({ UserName: userName, PolicyName: name }));
    policies.push({ kind: 'inline', name, document: doc.PolicyDocument });
  }
  for (const a of await pages(
    (Marker) => iam.send(new ListAttachedUserPoliciesCommand({ UserName: userName, Marker })),
    (r) => r.AttachedPolicies,
  )) {
    if (!a.PolicyArn) continue;
    const m = await loadManaged(a.PolicyArn, a.PolicyName ?? a.PolicyArn);
    policies.push({ kind: 'attached', name: m.name, arn: a.PolicyArn, document: m.document });
  }
  for (const g of await pages(
    (Marker) => iam.send(new ListGroupsForUserCommand({ UserName: userName, Marker })),
    (r) => r.Groups,
  )) {
    const group = g.GroupName;
    if (!group) continue;
    for (const name of await pages(
      (Marker) => iam.send(new ListGroupPoliciesCommand({ GroupName: group, Marker })),
      (r) => r.PolicyNames,
    )) {
      const doc = await iam.send(new GetGroupPolicyCommand({ GroupName: group, PolicyName: name }));
      policies.push({ kind: 'group-inline', name, group, document: doc.PolicyDocument });
    }
    for (const a of await pages(
      (Marker) => iam.send(new ListAttachedGroupPoliciesCommand({ GroupName: group, Marker })),
      (r) => r.AttachedPolicies,
    )) {
      if (!a.PolicyArn) continue;
      const m = await loadManaged(a.PolicyArn, a.PolicyName ?? a.PolicyArn);
      policies.push({ kind: 'group-attached', name: m.name, arn: a.PolicyArn, group, document: m.document });
    }
  }
  return { userName: user?.UserName ?? userName, userArn, accountId, policies };
}

// IAM's list calls page with Marker/IsTruncated.
async function pages<R extends { IsTruncated?: boolean | undefined; Marker?: string | undefined }, T>(
  call: (marker: string | undefined) => Promise<R>,
  items: (r: R) => T[] | undefined,
): Promise<T[]> {
  const out: T[] = [];
  let marker: string | undefined;
  do {
    const r = await call(marker);
    out.push(...(items(r) ?? []));
    marker = r.IsTruncated ? r.Marker : undefined;
  } while (marker);
  return out;
}
