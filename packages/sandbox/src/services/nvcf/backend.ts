import { decodeRegistrySecret } from '@nvcf-ecr/core/credential';
import { CredentialCodecError } from '@nvcf-ecr/core/errors';
import { SandboxError } from '../../errors.ts';
import * as ids from '../../ids.ts';
import type { World } from '../../world.ts';
import { CredentialJournal } from './cache.ts';
import type { CredentialValidator } from './ecr-auth.ts';
import { bootProblem, nvcfErrors } from './errors.ts';
import {
  ARTIFACT_TYPES,
  type ArtifactType,
  hostOfArtifactUrl,
  RECOGNIZED_REGISTRIES,
  type RecognizedRegistry,
  recognizedRegistryName,
} from './registries.ts';
import { type AddRequest, canonicalUuid, type UpdateRequest } from './validation.ts';

/**
 * NVCF's state and rules, as the open-source service implements them (`NVIDIA/nvcf`, `nvcf-core`
 * `service/registry`), keyed by NVIDIA Cloud Account (NCA) id: accounts, API keys, registry credentials with their
 * stored secret, function versions and deployments. Every rule follows the self-hosted service's order; messages
 * come from `errors.ts`. Timestamps come from the virtual clock, ISO-8601 with milliseconds and `Z`.
 */

export type ProvisionedBy = 'SYSTEM' | 'USER';
export const PROVISIONED_BY: readonly ProvisionedBy[] = ['SYSTEM', 'USER'];
export type Visibility = 'authorized' | 'private' | 'public';
export const VISIBILITIES: readonly Visibility[] = ['authorized', 'private', 'public'];

/** The NCA the sandbox's own NGC key belongs to. */
export const DEFAULT_NCA_ID = 'sandbox-nca-0000000000000000000001';
/** `NvcfConstants.DEFAULT_MAX_REGISTRY_CREDENTIALS_ALLOWED` (an account update may raise it to 50). */
export const DEFAULT_MAX_CREDENTIALS = 25;
export const MAX_CREDENTIALS_LIMIT = 50;

/**
 * Scopes of the sandbox's key: everything this project calls (https://docs.nvidia.com/nvcf/dev/api, scope table).
 */
export const DEFAULT_SCOPES = [
  'manage_registry_credentials',
  'list_functions',
  'list_functions_details',
  'deploy_function',
];

export interface AccountRecord {
  ncaId: string;
  maxRegistryCredentials: number;
}

export interface ApiKeyRecord {
  key: string;
  scopes: string[];
  /** NCA the key resolves to (it need not exist: `RegistryCredentialManagementControllerTest`). */
  account: string;
  revoked: boolean;
}

export interface CredentialRecord {
  registryCredentialId: string;
  ncaId: string;
  registryCredentialName: string;
  registryName: string;
  registryHostname: string;
  artifactTypes: ArtifactType[];
  tags?: string[] | undefined;
  description?: string | undefined;
  provisionedBy: ProvisionedBy;
  lastUpdatedAt: string;
  createdAt: string;
  /** The stored secret value (base64 `username:password`): never returned by the API. */
  secret: string;
  /** Stale-cache mode: the secret NVCF's caches keep serving to pulls until `until`. */
  previousSecret?: { value: string; until: string } | undefined;
}

/** A function version: a `FunctionDto` as seeded, plus the sandbox-only `visibility`. */
export interface FunctionRecord {
  dto: Record<string, unknown> & { id: string; versionId: string; ncaId: string };
  visibility: Visibility;
}

export type DeploymentRecord = Record<string, unknown> & {
  functionId: string;
  functionVersionId: string;
  deploymentId: string;
  ncaId: string;
};

export interface NvcfSnapshot {
  accounts: AccountRecord[];
  apiKeys: ApiKeyRecord[];
  credentials: CredentialRecord[];
  functions: FunctionRecord[];
  deployments: DeploymentRecord[];
  staleCacheSeconds: number;
}

/** The DTO NVCF returns for a credential (`RegistryCredentialDetailsDto`, null fields omitted). */
export function credentialDto(c: CredentialRecord): Record<string, unknown> {
  return {
    registryCredentialId: c.registryCredentialId,
    ncaId: c.ncaId,
    registryCredentialName: c.registryCredentialName,
    registryName: c.registryName,
    registryHostname: c.registryHostname,
    artifactTypes: [...c.artifactTypes],
    ...(c.tags !== undefined ? { tags: [...c.tags] } : {}),
    ...(c.description !== undefined ? { description: c.description } : {}),
    provisionedBy: c.provisionedBy,
    lastUpdatedAt: c.lastUpdatedAt,
    createdAt: c.createdAt,
  };
}

// `hideDetailsForPublicAndSharedFunctions` blanks what another account's function pulls from.
const HIDDEN_FOR_OTHERS = [
  'containerImage',
  'helmChart',
  'helmChartServiceName',
  'models',
  'resources',
  'containerArgs',
  'containerEnvironment',
  'secrets',
];

export class NvcfBackend {
  readonly #world: World;
  readonly #validate: CredentialValidator;
  readonly #defaultKey: string;
  #accounts = new Map<string, AccountRecord>();
  #keys = new Map<string, ApiKeyRecord>();
  #credentials = new Map<string, CredentialRecord>();
  #functions: FunctionRecord[] = [];
  #deployments: DeploymentRecord[] = [];
  #staleCacheSeconds = 0;
  /** Every state of every credential within the caches' windows (the `aws` profile's NVCF caches). */
  readonly #journal = new CredentialJournal();

  public constructor(world: World, options: { ngcApiKey: string; validator: CredentialValidator }) {
    this.#world = world;
    this.#validate = options.validator;
    this.#defaultKey = options.ngcApiKey;
    this.reset();
  }

  /** Back to a fresh sandbox: the default account and the sandbox's own key, nothing else. */
  public reset(): void {
    this.#accounts = new Map([
      [DEFAULT_NCA_ID, { ncaId: DEFAULT_NCA_ID, maxRegistryCredentials: DEFAULT_MAX_CREDENTIALS }],
    ]);
    this.#keys = new Map([
      [
        this.#defaultKey,
        { key: this.#defaultKey, scopes: [...DEFAULT_SCOPES], account: DEFAULT_NCA_ID, revoked: false },
      ],
    ]);
    this.#credentials = new Map();
    this.#functions = [];
    this.#deployments = [];
    this.#staleCacheSeconds = 0;
    this.#journal.clear();
  }

  /** Journals a credential's new state (undefined: deleted) and forgets states no cache can serve any more. */
  #journalled(id: string, record: CredentialRecord | undefined, atMs = this.#world.clock.nowMs()): void {
    this.#journal.record(id, atMs, record);
    const { knobs } = this.#world.profile;
    const window = Math.max(knobs.nvcfListCacheSeconds, knobs.nvcfCredentialCacheSeconds) * 1000;
    this.#journal.prune(this.#world.clock.nowMs() - window);
  }

  /**
   * The moment NVCF's list and get answer from: up to `nvcfListCacheSeconds` ago, the oldest (NVIDIA/nvcf
   * `RegistryCredentialLookupService`: credential metadata cached per pod for a minute).
   */
  #listedAt(): number | undefined {
    const lag = this.#world.profile.ms('nvcfListCacheSeconds');
    return lag > 0 ? this.#world.clock.nowMs() - lag : undefined;
  }

  // ---- keys and accounts -------------------------------------------------------------------------------

  /** The key record for a bearer token, or undefined when the key is unknown or revoked (→ 401). */
  public authenticate(bearer: string): ApiKeyRecord | undefined {
    const k = this.#keys.get(bearer);
    return k && !k.revoked ? k : undefined;
  }

  public revokeKey(key: string): boolean {
    const k = this.#keys.get(key);
    if (!k) return false;
    k.revoked = true;
    this.#world.changed();
    return true;
  }

  public get staleCacheSeconds(): number {
    return this.#staleCacheSeconds;
  }

  public set staleCacheSeconds(seconds: number) {
    this.#staleCacheSeconds = seconds;
    this.#world.changed();
  }

  #now(): string {
    return this.#world.clock.now().toISOString();
  }

  #inAccount(ncaId: string): CredentialRecord[] {
    return [...this.#credentials.values()].filter((c) => c.ncaId === ncaId);
  }

  // ---- registry credentials ----------------------------------------------------------------------------

  /**
   * `GET /registry-credentials`: any-of the types, one of the provisioners; unknown accounts list nothing.
   * Answered from NVCF's metadata cache: the credentials as they were `nvcfListCacheSeconds` ago.
   */
  public listCredentials(
    ncaId: string,
    types: readonly ArtifactType[],
    by: readonly ProvisionedBy[],
  ): CredentialRecord[] {
    const at = this.#listedAt();
    const all =
      at === undefined ? this.#inAccount(ncaId) : this.#journal.asOf(at).filter((c) => c.ncaId === ncaId);
    return all.filter((c) => c.artifactTypes.some((t) => types.includes(t)) && by.includes(c.provisionedBy));
  }

  /** `GET /registry-credentials/{id}`, from the same cache as the list. */
  public viewCredential(ncaId: string, id: string): CredentialRecord {
    const at = this.#listedAt();
    if (at === undefined) return this.getCredential(ncaId, id);
    const c = this.#journal.oneAsOf(id, at);
    if (!c || c.ncaId !== ncaId) throw nvcfErrors.credentialNotFound(id, ncaId);
    return c;
  }

  public getCredential(ncaId: string, id: string): CredentialRecord {
    const c = this.#credentials.get(id);
    if (!c || c.ncaId !== ncaId) throw nvcfErrors.credentialNotFound(id, ncaId);
    return c;
  }

  /** `POST /registry-credentials`, in NVCF's order (`RegistryCredentialService`). */
  public async createCredential(ncaId: string, req: AddRequest): Promise<CredentialRecord> {
    const account = this.#accounts.get(ncaId);
    if (!account) throw nvcfErrors.accountNotFound(ncaId);
    const hostname = req.registryHostname;
    const value = this.#checkSecretFormat(hostname, req.secret.value);
    const registryName = this.#registryNameFor(req.artifactTypes, hostname);
    const count = this.#inAccount(ncaId).length;
    if (count >= account.maxRegistryCredentials)
      throw nvcfErrors.limitExceeded(ncaId, account.maxRegistryCredentials, count);
    this.#checkUnique(ncaId, hostname, req.secret.name);
    await this.#validate(hostname, req.artifactTypes, value);
    // NVCF does not re-check after the remote call (a race it tolerates); the emulator does, so that two
    // concurrent creates can never leave a duplicate behind.
    this.#checkUnique(ncaId, hostname, req.secret.name);
    const now = this.#now();
    const record: CredentialRecord = {
      registryCredentialId: ids.uuid(),
      ncaId,
      registryCredentialName: req.secret.name,
      registryName,
      registryHostname: hostname,
      artifactTypes: sortTypes(req.artifactTypes),
      tags: req.tags ? [...req.tags] : undefined,
      description: req.description,
      provisionedBy: 'USER',
      lastUpdatedAt: now,
      createdAt: now,
      secret: value,
    };
    this.#credentials.set(record.registryCredentialId, record);
    this.#journalled(record.registryCredentialId, record);
    this.#world.changed();
    return record;
  }

  /** `PATCH /registry-credentials/{id}`, in NVCF's order (`validateUpdateRegistryCredentialRequest`). */
  public async updateCredential(ncaId: string, id: string, req: UpdateRequest): Promise<CredentialRecord> {
    const entity = this.getCredential(ncaId, id);
    const newTypes = req.artifactTypeEnums ?? [];
    if (newTypes.length === 0 && req.secret === undefined) throw nvcfErrors.emptyUpdate();
    const hostname = entity.registryHostname;
    const value = req.secret ? this.#checkSecretFormat(hostname, req.secret.value) : undefined;
    for (const type of newTypes) {
      if (!recognizedRegistryName(type, hostname))
        throw nvcfErrors.notRecognizedForType(entity.registryName, hostname, type);
    }
    const rename = req.secret?.name;
    if (rename !== undefined && rename.trim() !== '') this.#checkRename(entity, rename);
    if (value !== undefined) {
      // A new secret is checked for every type the credential will have.
      await this.#validate(hostname, sortTypes([...entity.artifactTypes, ...newTypes]), value);
    } else {
      // Only types added: the stored secret is re-checked for the new types.
      await this.#validate(hostname, newTypes, entity.secret);
    }
    const current = this.getCredential(ncaId, id);
    if (req.secret && value !== undefined) {
      if (rename !== undefined && rename.trim() !== '') this.#checkRename(current, rename);
      if (this.#staleCacheSeconds > 0 && current.secret !== value) {
        const until = new Date(this.#world.clock.nowMs() + this.#staleCacheSeconds * 1000).toISOString();
        current.previousSecret = { value: current.secret, until };
      }
      current.registryCredentialName = req.secret.name;
      current.secret = value;
    }
    current.artifactTypes = sortTypes([...current.artifactTypes, ...newTypes]);
    current.lastUpdatedAt = this.#now();
    this.#journalled(current.registryCredentialId, current);
    this.#world.changed();
    return current;
  }

  /**
   * `DELETE /registry-credentials/{id}` (`RegistryCredentialFunctionService.validateRegistryCredentialDeletion`).
   */
  public deleteCredential(ncaId: string, id: string): void {
    const entity = this.getCredential(ncaId, id);
    if (entity.provisionedBy === 'SYSTEM') throw nvcfErrors.systemCredential();
    const users = this.#functions
      .filter((f) => f.dto.ncaId === ncaId && this.#uses(f.dto, entity))
      .map((f) => ({ functionId: f.dto.id, versionId: f.dto.versionId }));
    if (users.length > 0) throw nvcfErrors.inUse(id, users);
    this.#credentials.delete(id);
    this.#journalled(id, undefined);
    this.#world.changed();
  }

  public recognizedRegistries(): Record<ArtifactType, readonly RecognizedRegistry[]> {
    return { ...RECOGNIZED_REGISTRIES };
  }

  /**
   * The secret NVCF would hand to the compute plane for a credential right now: the stored one, or — in
   * stale-cache mode, until the window closes — the one it replaced (NVCF caches
   * secrets per API pod for 5 minutes: `NVIDIA/nvcf`, `RegistryCredentialEssService`).
   */
  public servedSecret(c: CredentialRecord): { value: string; stale: boolean } {
    const now = this.#world.clock.nowMs();
    if (c.previousSecret && now < Date.parse(c.previousSecret.until)) {
      return { value: c.previousSecret.value, stale: true };
    }
    // NVCF's secret cache (`nvcfCredentialCacheSeconds`): the oldest value inside the window.
    const window = this.#world.profile.ms('nvcfCredentialCacheSeconds');
    const cached = window > 0 ? this.#journal.oldestSince(c.registryCredentialId, now - window) : undefined;
    if (cached && cached.secret !== c.secret) return { value: cached.secret, stale: true };
    return { value: c.secret, stale: false };
  }

  /** CONTAINER credentials whose hostname equals `hostname` exactly (`RegistryCredentialLookupService`). */
  public containerCredentialsFor(ncaId: string, hostname: string): CredentialRecord[] {
    return this.#inAccount(ncaId).filter(
      (c) => c.artifactTypes.includes('CONTAINER') && c.registryHostname === hostname,
    );
  }

  /** `validateSecretFormat` via core's codec, which carries NVCF's exact messages. */
  #checkSecretFormat(hostname: string, value: unknown): string {
    try {
      decodeRegistrySecret(value, hostname);
    } catch (err) {
      if (err instanceof CredentialCodecError) throw bootProblem(400, err.message);
      throw err;
    }
    return value as string;
  }

  #registryNameFor(types: readonly ArtifactType[], hostname: string): string {
    const names = new Set<string>();
    for (const type of types) {
      const name = recognizedRegistryName(type, hostname);
      if (!name) throw nvcfErrors.notRecognized(type, hostname);
      names.add(name);
    }
    return [...names][0] as string;
  }

  #checkUnique(ncaId: string, hostname: string, name: string): void {
    if (
      this.#inAccount(ncaId).some((c) => c.registryHostname === hostname && c.registryCredentialName === name)
    ) {
      throw nvcfErrors.alreadyExists(ncaId, name, hostname);
    }
  }

  #checkRename(entity: CredentialRecord, name: string): void {
    const clash = this.#inAccount(entity.ncaId).some(
      (c) =>
        c.registryCredentialId !== entity.registryCredentialId &&
        c.registryHostname === entity.registryHostname &&
        c.registryCredentialName === name,
    );
    if (clash)
      throw nvcfErrors.updateConflict(
        entity.ncaId,
        entity.registryCredentialId,
        name,
        entity.registryHostname,
      );
  }

  /** `RegistryCredentialFunctionService.matchesArtifact`: a version uses a credential through any of its types. */
  #uses(dto: Record<string, unknown>, c: CredentialRecord): boolean {
    const matches = (url: unknown) =>
      typeof url === 'string' && url.trim() !== '' && hostOfArtifactUrl(url) === c.registryHostname;
    const uris = (list: unknown) =>
      Array.isArray(list)
        ? list.map((m) => (m as { uri?: unknown; url?: unknown })?.uri ?? (m as { url?: unknown })?.url)
        : [];
    return c.artifactTypes.some((t) => {
      if (t === 'CONTAINER') return matches(dto['containerImage']);
      if (t === 'HELM') return matches(dto['helmChart']);
      if (t === 'MODEL') return uris(dto['models']).some(matches);
      return uris(dto['resources']).some(matches);
    });
  }

  // ---- functions and deployments -----------------------------------------------------------------------

  /**
   * Function versions visible to `ncaId` under `visibility` (`GET /v2/nvcf/functions`, one entry per version):
   * `private` = the account's own, `authorized`/`public` = seeded as shared or public. Versions owned by
   * another account come with `ownedByDifferentAccount: true` and their artifact details blanked
   * (`hideDetailsForPublicAndSharedFunctions`).
   */
  public listFunctions(ncaId: string, visibility: readonly Visibility[]): Record<string, unknown>[] {
    return this.#functions
      .filter(
        (f) => visibility.includes(f.visibility) && (f.visibility !== 'private' || f.dto.ncaId === ncaId),
      )
      .map((f) => this.#functionView(f, ncaId));
  }

  public functionVersions(ncaId: string, fid: string): Record<string, unknown>[] {
    const versions = this.#functions.filter(
      (f) => f.dto.id === fid && (f.visibility !== 'private' || f.dto.ncaId === ncaId),
    );
    if (versions.length === 0) throw nvcfErrors.functionNotFound(fid, ncaId);
    return versions.map((f) => this.#functionView(f, ncaId));
  }

  public functionVersion(ncaId: string, fid: string, vid: string): Record<string, unknown> {
    const f = this.#functions.find(
      (x) =>
        x.dto.id === fid && x.dto.versionId === vid && (x.visibility !== 'private' || x.dto.ncaId === ncaId),
    );
    if (!f) throw nvcfErrors.versionNotFound(fid, vid, ncaId);
    return this.#functionView(f, ncaId);
  }

  /** `GET /v2/nvcf/deployments/functions/{fid}/versions/{vid}`: only the account's own versions deploy. */
  public deployment(ncaId: string, fid: string, vid: string): DeploymentRecord {
    if (!this.#functions.some((f) => f.dto.id === fid && f.dto.versionId === vid && f.dto.ncaId === ncaId)) {
      throw nvcfErrors.versionNotFound(fid, vid, ncaId);
    }
    const d = this.#deployments.find(
      (x) => x.functionId === fid && x.functionVersionId === vid && x.ncaId === ncaId,
    );
    if (!d) throw nvcfErrors.deploymentNotFound(vid);
    return d;
  }

  public deploymentById(ncaId: string, deploymentId: string): DeploymentRecord {
    const d = this.#deployments.find((x) => x.deploymentId === deploymentId && x.ncaId === ncaId);
    if (!d) throw nvcfErrors.deploymentIdNotFound(deploymentId);
    return d;
  }

  #functionView(f: FunctionRecord, ncaId: string): Record<string, unknown> {
    const out: Record<string, unknown> = { ...f.dto };
    if (f.dto.ncaId !== ncaId) {
      out['ownedByDifferentAccount'] = true;
      for (const k of HIDDEN_FOR_OTHERS) delete out[k];
    }
    return out;
  }

  // ---- seeding, inspection, persistence ----------------------------------------------------------------

  /**
   * `POST /_sandbox/seed {"nvcf": {...}}`: `accounts: [{ncaId, maxRegistryCredentials?}]`,
   * `apiKeys: [{key, scopes, account?, revoked?}]`, `functions: [FunctionDto & {visibility?}]`,
   * `deployments: [FunctionDeploymentDto]`, `credentials: [{registryHostname, secret: {name, value},
   * artifactTypes, provisionedBy?, tags?, description?, ncaId?}]` (stored without the remote check — the only
   * way to get SYSTEM credentials), `staleCacheSeconds`. Functions and deployments are upserted by id.
   */
  public seed(section: unknown): Record<string, number> {
    if (!section || typeof section !== 'object' || Array.isArray(section))
      throw new SandboxError('seed section nvcf must be an object');
    const s = section as Record<string, unknown>;
    const known = ['accounts', 'apiKeys', 'functions', 'deployments', 'credentials', 'staleCacheSeconds'];
    const unknown = Object.keys(s).filter((k) => !known.includes(k));
    if (unknown.length > 0)
      throw new SandboxError(`nvcf seed: unknown key(s) ${unknown.join(', ')}; known: ${known.join(', ')}`);
    const counts: Record<string, number> = {};
    const list = (key: string): unknown[] => {
      const v = s[key];
      if (v === undefined) return [];
      if (!Array.isArray(v)) throw new SandboxError(`nvcf seed: ${key} must be an array`);
      counts[key] = v.length;
      return v;
    };
    const accounts = list('accounts').map((a, i) => seedAccount(a, i));
    const keys = list('apiKeys').map((k, i) => seedKey(k, i));
    const functions = list('functions').map((f, i) => seedFunction(f, i, this.#now()));
    const deployments = list('deployments').map((d, i) => seedDeployment(d, i, this.#now()));
    const credentials = list('credentials').map((c, i) => this.#seedCredential(c, i));
    if (s['staleCacheSeconds'] !== undefined) {
      const v = s['staleCacheSeconds'];
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
        throw new SandboxError('nvcf seed: staleCacheSeconds must be a non-negative number');
      this.#staleCacheSeconds = v;
    }
    for (const a of accounts) this.#accounts.set(a.ncaId, a);
    for (const k of keys) this.#keys.set(k.key, k);
    for (const f of functions) {
      this.#functions = this.#functions.filter(
        (x) => !(x.dto.id === f.dto.id && x.dto.versionId === f.dto.versionId),
      );
      this.#functions.push(f);
    }
    for (const d of deployments) {
      this.#deployments = this.#deployments.filter(
        (x) => !(x.functionId === d.functionId && x.functionVersionId === d.functionVersionId),
      );
      this.#deployments.push(d);
    }
    for (const c of credentials) {
      // A seeded credential has always been there, as far as NVCF's caches know, unless it replaces one.
      const replaces = this.#credentials.has(c.registryCredentialId);
      this.#credentials.set(c.registryCredentialId, c);
      this.#journalled(c.registryCredentialId, c, replaces ? undefined : 0);
    }
    this.#world.changed();
    return counts;
  }

  #seedCredential(raw: unknown, i: number): CredentialRecord {
    const fail = (m: string): never => {
      throw new SandboxError(`nvcf seed: credentials[${i}]: ${m}`);
    };
    if (!raw || typeof raw !== 'object') fail('must be an object');
    const c = raw as Record<string, unknown>;
    const hostname = c['registryHostname'];
    if (typeof hostname !== 'string' || hostname === '') return fail('registryHostname must be a hostname');
    const secret = c['secret'] as { name?: unknown; value?: unknown } | undefined;
    if (typeof secret?.name !== 'string' || typeof secret.value !== 'string')
      return fail('secret must be {name, value} strings');
    const types = c['artifactTypes'];
    if (
      !Array.isArray(types) ||
      types.length === 0 ||
      !types.every((t) => ARTIFACT_TYPES.includes(t as ArtifactType))
    ) {
      return fail(`artifactTypes must be a non-empty array of ${ARTIFACT_TYPES.join(', ')}`);
    }
    const registryName = recognizedRegistryName(types[0] as ArtifactType, hostname);
    if (!registryName) return fail(`'${hostname}' is not a recognized registry for ${String(types[0])}`);
    const by = c['provisionedBy'] ?? 'USER';
    if (!PROVISIONED_BY.includes(by as ProvisionedBy)) return fail('provisionedBy must be SYSTEM or USER');
    const ncaId = c['ncaId'] ?? DEFAULT_NCA_ID;
    if (typeof ncaId !== 'string') return fail('ncaId must be a string');
    const tags = c['tags'];
    if (tags !== undefined && !(Array.isArray(tags) && tags.every((t) => typeof t === 'string')))
      return fail('tags must be strings');
    const description = c['description'];
    if (description !== undefined && typeof description !== 'string')
      return fail('description must be a string');
    const rawId = c['registryCredentialId'] ?? ids.uuid();
    const id = typeof rawId === 'string' ? canonicalUuid(rawId) : undefined;
    if (id === undefined) return fail('registryCredentialId must be a UUID (NVCF ids are UUIDs)');
    const now = this.#now();
    return {
      registryCredentialId: id,
      ncaId,
      registryCredentialName: secret.name,
      registryName,
      registryHostname: hostname,
      artifactTypes: sortTypes(types as ArtifactType[]),
      tags: tags as string[] | undefined,
      description: description as string | undefined,
      provisionedBy: by as ProvisionedBy,
      lastUpdatedAt: now,
      createdAt: now,
      secret: secret.value,
    };
  }

  /** Test-only view: credentials with the decoded username (never the password), keys masked. */
  public inspect(): unknown {
    return {
      defaultNcaId: DEFAULT_NCA_ID,
      staleCacheSeconds: this.#staleCacheSeconds,
      accounts: [...this.#accounts.values()],
      apiKeys: [...this.#keys.values()].map((k) => ({
        key: maskKey(k.key),
        scopes: k.scopes,
        account: k.account,
        revoked: k.revoked,
      })),
      credentials: [...this.#credentials.values()].map((c) => ({
        ...credentialDto(c),
        username: usernameOf(c.secret, c.registryHostname),
        ...(c.previousSecret
          ? {
              previous: {
                username: usernameOf(c.previousSecret.value, c.registryHostname),
                servedUntil: c.previousSecret.until,
              },
            }
          : {}),
      })),
      functions: this.#functions.map((f) => ({ ...f.dto, visibility: f.visibility })),
      deployments: [...this.#deployments],
    };
  }

  public snapshot(): NvcfSnapshot {
    return structuredClone({
      accounts: [...this.#accounts.values()],
      apiKeys: [...this.#keys.values()],
      credentials: [...this.#credentials.values()],
      functions: this.#functions,
      deployments: this.#deployments,
      staleCacheSeconds: this.#staleCacheSeconds,
    });
  }

  public restore(data: NvcfSnapshot): void {
    this.reset();
    const d = structuredClone(data);
    for (const a of d.accounts ?? []) this.#accounts.set(a.ncaId, a);
    for (const k of d.apiKeys ?? []) this.#keys.set(k.key, k);
    for (const c of d.credentials ?? []) {
      this.#credentials.set(c.registryCredentialId, c);
      this.#journal.record(c.registryCredentialId, 0, c);
    }
    this.#functions = d.functions ?? [];
    this.#deployments = d.deployments ?? [];
    this.#staleCacheSeconds = d.staleCacheSeconds ?? 0;
  }
}

function sortTypes(types: readonly ArtifactType[]): ArtifactType[] {
  return ARTIFACT_TYPES.filter((t) => types.includes(t));
}

function maskKey(key: string): string {
  return key.length <= 12 ? '****' : `${key.slice(0, 6)}…${key.slice(-4)}`;
}

function usernameOf(secret: string, hostname: string): string | undefined {
  try {
    return decodeRegistrySecret(secret, hostname).username;
  } catch {
    return undefined;
  }
}

function seedAccount(raw: unknown, i: number): AccountRecord {
  const a = (raw ?? {}) as Record<string, unknown>;
  if (typeof a['ncaId'] !== 'string' || a['ncaId'] === '')
    throw new SandboxError(`nvcf seed: accounts[${i}].ncaId must be a non-empty string`);
  const max = a['maxRegistryCredentials'] ?? DEFAULT_MAX_CREDENTIALS;
  if (!Number.isInteger(max) || (max as number) < 0 || (max as number) > MAX_CREDENTIALS_LIMIT) {
    throw new SandboxError(
      `nvcf seed: accounts[${i}].maxRegistryCredentials must be an integer 0..${MAX_CREDENTIALS_LIMIT} (NVCF's ceiling)`,
    );
  }
  return { ncaId: a['ncaId'], maxRegistryCredentials: max as number };
}

function seedKey(raw: unknown, i: number): ApiKeyRecord {
  const k = (raw ?? {}) as Record<string, unknown>;
  if (typeof k['key'] !== 'string' || k['key'] === '')
    throw new SandboxError(`nvcf seed: apiKeys[${i}].key must be a non-empty string`);
  const scopes = k['scopes'] ?? [];
  if (!Array.isArray(scopes) || !scopes.every((s) => typeof s === 'string'))
    throw new SandboxError(`nvcf seed: apiKeys[${i}].scopes must be an array of scope names`);
  const account = k['account'] ?? DEFAULT_NCA_ID;
  if (typeof account !== 'string')
    throw new SandboxError(`nvcf seed: apiKeys[${i}].account must be an NCA id`);
  return { key: k['key'], scopes: scopes as string[], account, revoked: k['revoked'] === true };
}

function seedFunction(raw: unknown, i: number, now: string): FunctionRecord {
  if (!raw || typeof raw !== 'object')
    throw new SandboxError(`nvcf seed: functions[${i}] must be a FunctionDto object`);
  const { visibility = 'private', ...dto } = raw as Record<string, unknown>;
  if (typeof dto['id'] !== 'string' || typeof dto['versionId'] !== 'string') {
    throw new SandboxError(
      `nvcf seed: functions[${i}] needs string id and versionId (one entry per function version)`,
    );
  }
  if (!VISIBILITIES.includes(visibility as Visibility))
    throw new SandboxError(`nvcf seed: functions[${i}].visibility must be one of ${VISIBILITIES.join(', ')}`);
  const fid = canonicalUuid(dto['id']);
  const vid = canonicalUuid(dto['versionId']);
  if (!fid || !vid)
    throw new SandboxError(`nvcf seed: functions[${i}].id and versionId must be UUIDs (NVCF ids are UUIDs)`);
  const full = {
    ncaId: DEFAULT_NCA_ID,
    name: `function-${fid.slice(0, 8)}`,
    status: 'ACTIVE',
    createdAt: now,
    ...dto,
    id: fid,
    versionId: vid,
  };
  return { dto: full as unknown as FunctionRecord['dto'], visibility: visibility as Visibility };
}

function seedDeployment(raw: unknown, i: number, now: string): DeploymentRecord {
  if (!raw || typeof raw !== 'object')
    throw new SandboxError(`nvcf seed: deployments[${i}] must be a FunctionDeploymentDto object`);
  const d = raw as Record<string, unknown>;
  if (typeof d['functionId'] !== 'string' || typeof d['functionVersionId'] !== 'string') {
    throw new SandboxError(`nvcf seed: deployments[${i}] needs string functionId and functionVersionId`);
  }
  if (d['deploymentSpecifications'] !== undefined && !Array.isArray(d['deploymentSpecifications'])) {
    throw new SandboxError(`nvcf seed: deployments[${i}].deploymentSpecifications must be an array`);
  }
  const fid = canonicalUuid(d['functionId']);
  const vid = canonicalUuid(d['functionVersionId']);
  const did = canonicalUuid(typeof d['deploymentId'] === 'string' ? d['deploymentId'] : ids.uuid());
  if (!fid || !vid || !did)
    throw new SandboxError(
      `nvcf seed: deployments[${i}] functionId, functionVersionId and deploymentId must be UUIDs`,
    );
  return {
    ncaId: DEFAULT_NCA_ID,
    functionStatus: 'ACTIVE',
    deploymentSpecifications: [],
    createdAt: now,
    lastUpdatedAt: now,
    ...d,
    functionId: fid,
    functionVersionId: vid,
    deploymentId: did,
  } as unknown as DeploymentRecord;
}
