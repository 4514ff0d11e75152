import type { VirtualClock } from '../../clock.ts';
import * as ids from '../../ids.ts';
import { SandboxProfile } from '../../profile.ts';
import { iamErrors } from './errors.ts';

/**
 * IAM state of one account: users, groups, managed policies (customer and a few AWS-managed ones), inline
 * policies and access keys. Policy documents are stored as the JSON text the caller sent; IAM returns them
 * URL-encoded (RFC 3986), which the handlers do, as AWS does.
 */

export interface AccessKeyRecord {
  userName: string;
  accessKeyId: string;
  secretAccessKey: string;
  status: 'Active' | 'Inactive';
  createDate: string;
  /** The key's latest use, as it happened (the control plane's view). */
  lastUsed?: KeyUse | undefined;
  /** The latest use `GetAccessKeyLastUsed` reports: uses reach it `iamLastUsedLagSeconds` late. */
  reportedUse?: KeyUse | undefined;
  /** Uses not reported yet, oldest first (one per second of the virtual clock and service). */
  pendingUses?: KeyUse[] | undefined;
}

export interface KeyUse {
  date: string;
  serviceName: string;
  region: string;
}

export interface UserRecord {
  userName: string;
  userId: string;
  path: string;
  createDate: string;
  inline: Record<string, string>;
  attached: string[];
  tags: { Key: string; Value: string }[];
  /** The managed policy that caps what the user's identity policies allow (`PutUserPermissionsBoundary`). */
  permissionsBoundary?: string | undefined;
}

export interface GroupRecord {
  groupName: string;
  groupId: string;
  path: string;
  createDate: string;
  inline: Record<string, string>;
  attached: string[];
  members: string[];
}

export interface PolicyVersionRecord {
  versionId: string;
  document: string;
  isDefault: boolean;
  createDate: string;
}

export interface ManagedPolicyRecord {
  policyName: string;
  policyId: string;
  arn: string;
  path: string;
  description: string | undefined;
  createDate: string;
  updateDate: string;
  versions: PolicyVersionRecord[];
  awsManaged: boolean;
}

export interface IamSnapshot {
  users: UserRecord[];
  groups: GroupRecord[];
  policies: ManagedPolicyRecord[];
  keys: AccessKeyRecord[];
}

/** A policy document as the authoriser needs it, with where it came from. */
export interface EffectivePolicy {
  kind: 'inline' | 'attached' | 'group-inline' | 'group-attached';
  name: string;
  arn?: string | undefined;
  group?: string | undefined;
  document: string;
}

/**
 * IAM's limit on access keys per user (`AccessKeysPerUserQuota: 2`,
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html).
 */
export const ACCESS_KEYS_PER_USER = 2;

const AWS_MANAGED: { name: string; document: object }[] = [
  {
    name: 'AdministratorAccess',
    document: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] },
  },
  {
    name: 'AmazonEC2ContainerRegistryReadOnly',
    document: {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Action: [
            'ecr:GetAuthorizationToken',
            'ecr:BatchCheckLayerAvailability',
            'ecr:GetDownloadUrlForLayer',
            'ecr:GetRepositoryPolicy',
            'ecr:DescribeRepositories',
            'ecr:ListImages',
            'ecr:DescribeImages',
            'ecr:BatchGetImage',
            'ecr:GetLifecyclePolicy',
            'ecr:GetLifecyclePolicyPreview',
            'ecr:ListTagsForResource',
            'ecr:DescribeImageScanFindings',
          ],
          Resource: '*',
        },
      ],
    },
  },
  {
    name: 'AmazonS3FullAccess',
    document: {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: ['s3:*', 's3-object-lambda:*'], Resource: '*' }],
    },
  },
];

export class IamBackend {
  readonly accountId: string;
  readonly partition: string;
  readonly #clock: VirtualClock;
  readonly #profile: SandboxProfile;
  users = new Map<string, UserRecord>();
  groups = new Map<string, GroupRecord>();
  policies = new Map<string, ManagedPolicyRecord>();
  keys = new Map<string, AccessKeyRecord>();
  /** Deleted keys ListAccessKeys still shows (for `iamListLagSeconds`), with when they were deleted. */
  deleted = new Map<string, { key: AccessKeyRecord; deletedAtMs: number }>();

  public constructor(
    accountId: string,
    clock: VirtualClock,
    partition = 'aws',
    profile: SandboxProfile = new SandboxProfile('ideal'),
  ) {
    this.accountId = accountId;
    this.partition = partition;
    this.#clock = clock;
    this.#profile = profile;
    const epoch = '2015-02-06T18:39:46Z';
    for (const p of AWS_MANAGED) {
      const arn = `arn:${partition}:iam::aws:policy/${p.name}`;
      this.policies.set(arn, {
        policyName: p.name,
        policyId: ids.uniqueId('ANPA'),
        arn,
        path: '/',
        description: undefined,
        createDate: epoch,
        updateDate: epoch,
        versions: [
          { versionId: 'v1', document: JSON.stringify(p.document), isDefault: true, createDate: epoch },
        ],
        awsManaged: true,
      });
    }
  }

  #now(): string {
    return this.#clock.now().toISOString();
  }

  userArn(name: string, path = '/'): string {
    return `arn:${this.partition}:iam::${this.accountId}:user${path}${name}`;
  }

  groupArn(name: string, path = '/'): string {
    return `arn:${this.partition}:iam::${this.accountId}:group${path}${name}`;
  }

  getUser(name: string): UserRecord {
    const u = this.users.get(name);
    if (!u) throw iamErrors.noSuchUser(name);
    return u;
  }

  getGroup(name: string): GroupRecord {
    const g = this.groups.get(name);
    if (!g) throw iamErrors.noSuchGroup(name);
    return g;
  }

  getPolicy(arn: string): ManagedPolicyRecord {
    const p = this.policies.get(arn);
    if (!p) throw iamErrors.noSuchPolicy(arn);
    return p;
  }

  createUser(name: string, path = '/', tags: { Key: string; Value: string }[] = []): UserRecord {
    if (this.users.has(name)) throw iamErrors.userExists(name);
    const u: UserRecord = {
      userName: name,
      userId: ids.uniqueId('AIDA'),
      path,
      createDate: this.#now(),
      inline: {},
      attached: [],
      tags,
    };
    this.users.set(name, u);
    return u;
  }

  deleteUser(name: string): void {
    const u = this.getUser(name);
    if ([...this.keys.values()].some((k) => k.userName === name))
      throw iamErrors.deleteConflict('delete access keys');
    if (Object.keys(u.inline).length > 0) throw iamErrors.deleteConflict('delete policies');
    if (u.attached.length > 0) throw iamErrors.deleteConflict('detach all policies');
    if ([...this.groups.values()].some((g) => g.members.includes(name)))
      throw iamErrors.deleteConflict('remove users from group');
    this.users.delete(name);
  }

  createGroup(name: string, path = '/'): GroupRecord {
    if (this.groups.has(name)) throw iamErrors.groupExists(name);
    const g: GroupRecord = {
      groupName: name,
      groupId: ids.uniqueId('AGPA'),
      path,
      createDate: this.#now(),
      inline: {},
      attached: [],
      members: [],
    };
    this.groups.set(name, g);
    return g;
  }

  createPolicy(name: string, document: string, path = '/', description?: string): ManagedPolicyRecord {
    const arn = `arn:${this.partition}:iam::${this.accountId}:policy${path}${name}`;
    if (this.policies.has(arn)) throw iamErrors.policyExists(name);
    const now = this.#now();
    const p: ManagedPolicyRecord = {
      policyName: name,
      policyId: ids.uniqueId('ANPA'),
      arn,
      path,
      description,
      createDate: now,
      updateDate: now,
      versions: [{ versionId: 'v1', document, isDefault: true, createDate: now }],
      awsManaged: false,
    };
    this.policies.set(arn, p);
    return p;
  }

  attachmentCount(arn: string): number {
    let n = 0;
    for (const u of this.users.values()) if (u.attached.includes(arn)) n++;
    for (const g of this.groups.values()) if (g.attached.includes(arn)) n++;
    return n;
  }

  keysOf(userName: string): AccessKeyRecord[] {
    return [...this.keys.values()]
      .filter((k) => k.userName === userName)
      .sort((a, b) => a.createDate.localeCompare(b.createDate));
  }

  createAccessKey(userName: string): AccessKeyRecord {
    this.getUser(userName);
    if (this.keysOf(userName).length >= ACCESS_KEYS_PER_USER) throw iamErrors.keyLimit();
    const key: AccessKeyRecord = {
      userName,
      accessKeyId: ids.accessKeyId(),
      secretAccessKey: ids.secretAccessKey(),
      status: 'Active',
      createDate: this.#now(),
    };
    this.keys.set(key.accessKeyId, key);
    return key;
  }

  /** The key, checked to belong to `userName` when given (IAM answers NoSuchEntity otherwise). */
  getAccessKey(accessKeyId: string, userName?: string): AccessKeyRecord {
    const k = this.keys.get(accessKeyId);
    if (!k || (userName !== undefined && k.userName !== userName))
      throw iamErrors.noSuchAccessKey(accessKeyId);
    return k;
  }

  /** Every policy that applies to a user: inline, attached, and those of its groups. */
  effectivePolicies(userName: string): EffectivePolicy[] {
    const u = this.getUser(userName);
    const out: EffectivePolicy[] = [];
    for (const [name, document] of Object.entries(u.inline)) out.push({ kind: 'inline', name, document });
    for (const arn of u.attached) {
      const p = this.policies.get(arn);
      const v = p?.versions.find((x) => x.isDefault);
      if (p && v) out.push({ kind: 'attached', name: p.policyName, arn, document: v.document });
    }
    for (const g of this.groups.values()) {
      if (!g.members.includes(userName)) continue;
      for (const [name, document] of Object.entries(g.inline))
        out.push({ kind: 'group-inline', name, group: g.groupName, document });
      for (const arn of g.attached) {
        const p = this.policies.get(arn);
        const v = p?.versions.find((x) => x.isDefault);
        if (p && v)
          out.push({
            kind: 'group-attached',
            name: p.policyName,
            arn,
            group: g.groupName,
            document: v.document,
          });
      }
    }
    return out;
  }

  /** The user's permissions boundary as the authoriser needs it (its default version), if it has one. */
  boundaryOf(userName: string): { name: string; document: string } | undefined {
    const arn = this.users.get(userName)?.permissionsBoundary;
    const p = arn ? this.policies.get(arn) : undefined;
    const v = p?.versions.find((x) => x.isDefault);
    return p && v ? { name: p.policyName, document: v.document } : undefined;
  }

  /** How many users have `arn` as their permissions boundary (`PermissionsBoundaryUsageCount`). */
  boundaryUsageCount(arn: string): number {
    let n = 0;
    for (const u of this.users.values()) if (u.permissionsBoundary === arn) n++;
    return n;
  }

  /**
   * What `ListAccessKeys` shows of a user's keys: IAM is eventually consistent (its troubleshooting guide,
   * "Changes that I make are not always immediately visible"), so a key created less than
   * `iamListLagSeconds` ago is not listed yet, and a key deleted less than that ago still is.
   */
  listedKeysOf(userName: string): AccessKeyRecord[] {
    const now = this.#clock.nowMs();
    const lag = this.#profile.ms('iamListLagSeconds');
    for (const [id, d] of this.deleted) if (d.deletedAtMs + lag <= now) this.deleted.delete(id);
    const visible = (k: AccessKeyRecord) => Date.parse(k.createDate) + lag <= now;
    return [...this.keysOf(userName), ...[...this.deleted.values()].map((d) => d.key)]
      .filter((k) => k.userName === userName && visible(k))
      .sort((a, b) => a.createDate.localeCompare(b.createDate));
  }

  deleteAccessKey(accessKeyId: string): void {
    const key = this.keys.get(accessKeyId);
    if (!key) return;
    this.keys.delete(accessKeyId);
    if (this.#profile.knobs.iamListLagSeconds > 0)
      this.deleted.set(accessKeyId, { key: { ...key }, deletedAtMs: this.#clock.nowMs() });
  }

  /**
   * Records the use of a key. `GetAccessKeyLastUsed` reports it only `iamLastUsedLagSeconds` later
   * ({@link reportedUse}); until then it reports the use before, if that one is old enough.
   */
  recordUse(accessKeyId: string, serviceName: string, region: string): void {
    const k = this.keys.get(accessKeyId);
    if (!k) return;
    const use: KeyUse = { date: this.#now(), serviceName, region };
    k.lastUsed = use;
    if (this.#profile.knobs.iamLastUsedLagSeconds === 0) {
      k.reportedUse = use;
      k.pendingUses = undefined;
      return;
    }
    const pending = k.pendingUses ?? [];
    k.pendingUses = pending;
    const last = pending.at(-1);
    // One entry per second and service bounds the list by the lag, however busy the key is.
    if (last && last.serviceName === serviceName && last.date.slice(0, 19) === use.date.slice(0, 19))
      pending[pending.length - 1] = use;
    else pending.push(use);
  }

  /** The use `GetAccessKeyLastUsed` reports now: the latest one at least `iamLastUsedLagSeconds` old. */
  reportedUse(k: AccessKeyRecord): KeyUse | undefined {
    const horizon = this.#clock.nowMs() - this.#profile.ms('iamLastUsedLagSeconds');
    const pending = k.pendingUses ?? [];
    let reported = 0;
    while (reported < pending.length && Date.parse(pending[reported]?.date ?? '') <= horizon) reported++;
    if (reported > 0) {
      k.reportedUse = pending[reported - 1];
      k.pendingUses = pending.slice(reported);
    }
    return k.reportedUse;
  }

  snapshot(): IamSnapshot {
    return {
      users: [...this.users.values()],
      groups: [...this.groups.values()],
      policies: [...this.policies.values()].filter((p) => !p.awsManaged),
      keys: [...this.keys.values()],
    };
  }

  restore(s: IamSnapshot): void {
    this.users = new Map(s.users.map((u) => [u.userName, u]));
    this.groups = new Map(s.groups.map((g) => [g.groupName, g]));
    for (const p of s.policies) this.policies.set(p.arn, p);
    this.keys = new Map(s.keys.map((k) => [k.accessKeyId, k]));
    // State saved before uses were reported late: the last use is the reported one.
    for (const k of this.keys.values())
      if (k.lastUsed && !k.reportedUse && !k.pendingUses) k.reportedUse = k.lastUsed;
    this.deleted = new Map();
  }
}
