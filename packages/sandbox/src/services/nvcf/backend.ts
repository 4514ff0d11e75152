import * as ids from '../../ids.ts';
import type { World } from '../../world.ts';
import { CredentialJournal } from './cache.ts';
import {
  checkRename,
  checkSecretFormat,
  checkUnique,
  registryNameFor,
  usesCredential,
} from './credential-rules.ts';
import type { CredentialValidator } from './ecr-auth.ts';
import { nvcfErrors } from './errors.ts';
import {
  deploymentById,
  deploymentOf,
  functionVersion,
  functionVersions,
  listFunctions,
} from './functions.ts';
import { inspectNvcf } from './inspect.ts';
import {
  type AccountRecord,
  type ApiKeyRecord,
  type CredentialRecord,
  DEFAULT_MAX_CREDENTIALS,
  DEFAULT_NCA_ID,
  DEFAULT_SCOPES,
  type DeploymentRecord,
  type FunctionRecord,
  type NvcfSnapshot,
  type ProvisionedBy,
  sortTypes,
  type Visibility,
} from './records.ts';
import {
  type ArtifactType,
  RECOGNIZED_REGISTRIES,
  type RecognizedRegistry,
  recognizedRegistryName,
} from './registries.ts';
import { parseNvcfSeed } from './seed.ts';
import type { AddRequest, UpdateRequest } from './validation.ts';

// The records live in `records.ts`; this module stays the entry the handlers and the module import from.
export { type ApiKeyRecord, credentialDto, PROVISIONED_BY, VISIBILITIES } from './records.ts';

/**
 * NVCF's state and rules, as the open-source service implements them (`NVIDIA/nvcf`, `nvcf-core`
 * `service/registry`), keyed by NVIDIA Cloud Account (NCA) id: accounts, API keys, registry credentials with their
 * stored secret, function versions and deployments. Every rule follows the self-hosted service's order; messages
 * come from `errors.ts`. Timestamps come from the virtual clock, ISO-8601 with milliseconds and `Z`.
 */

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
    const value = checkSecretFormat(hostname, req.secret.value);
    const registryName = registryNameFor(req.artifactTypes, hostname);
    const count = this.#inAccount(ncaId).length;
    if (count >= account.maxRegistryCredentials)
      throw nvcfErrors.limitExceeded(ncaId, account.maxRegistryCredentials, count);
    checkUnique(this.#inAccount(ncaId), ncaId, hostname, req.secret.name);
    await this.#validate(hostname, req.artifactTypes, value);
    // NVCF does not re-check after the remote call (a race it tolerates); the emulator does, so that two
    // concurrent creates can never leave a duplicate behind.
    checkUnique(this.#inAccount(ncaId), ncaId, hostname, req.secret.name);
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
    const value = req.secret ? checkSecretFormat(hostname, req.secret.value) : undefined;
    for (const type of newTypes) {
      if (!recognizedRegistryName(type, hostname))
        throw nvcfErrors.notRecognizedForType(entity.registryName, hostname, type);
    }
    const rename = req.secret?.name;
    if (rename !== undefined && rename.trim() !== '')
      checkRename(this.#inAccount(entity.ncaId), entity, rename);
    if (value !== undefined) {
      // A new secret is checked for every type the credential will have.
      await this.#validate(hostname, sortTypes([...entity.artifactTypes, ...newTypes]), value);
    } else {
      // Only types added: the stored secret is re-checked for the new types.
      await this.#validate(hostname, newTypes, entity.secret);
    }
    const current = this.getCredential(ncaId, id);
    if (req.secret && value !== undefined) {
      if (rename !== undefined && rename.trim() !== '')
        checkRename(this.#inAccount(current.ncaId), current, rename);
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
      .filter((f) => f.dto.ncaId === ncaId && usesCredential(f.dto, entity))
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

  // ---- functions and deployments (the rules: `functions.ts`) ------------------------------------------

  public listFunctions(ncaId: string, visibility: readonly Visibility[]): Record<string, unknown>[] {
    return listFunctions(this.#functions, ncaId, visibility);
  }

  public functionVersions(ncaId: string, fid: string): Record<string, unknown>[] {
    return functionVersions(this.#functions, ncaId, fid);
  }

  public functionVersion(ncaId: string, fid: string, vid: string): Record<string, unknown> {
    return functionVersion(this.#functions, ncaId, fid, vid);
  }

  public deployment(ncaId: string, fid: string, vid: string): DeploymentRecord {
    return deploymentOf(this.#functions, this.#deployments, ncaId, fid, vid);
  }

  public deploymentById(ncaId: string, deploymentId: string): DeploymentRecord {
    return deploymentById(this.#deployments, ncaId, deploymentId);
  }

  // ---- seeding, inspection, persistence ----------------------------------------------------------------

  /**
   * `POST /_sandbox/seed {"nvcf": {...}}` (the shape: `parseNvcfSeed`). Credentials are stored without the
   * remote check — the only way to get SYSTEM credentials. Functions and deployments are upserted by id.
   */
  public seed(section: unknown): Record<string, number> {
    const { accounts, keys, functions, deployments, credentials, staleCacheSeconds, counts } = parseNvcfSeed(
      section,
      this.#now(),
    );
    if (staleCacheSeconds !== undefined) this.#staleCacheSeconds = staleCacheSeconds;
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

  /** Test-only view: credentials with the decoded username (never the password), keys masked. */
  public inspect(): unknown {
    return inspectNvcf(this.#state());
  }

  public snapshot(): NvcfSnapshot {
    return structuredClone(this.#state());
  }

  /** The whole state, live (not copied). */
  #state(): NvcfSnapshot {
    return {
      accounts: [...this.#accounts.values()],
      apiKeys: [...this.#keys.values()],
      credentials: [...this.#credentials.values()],
      functions: this.#functions,
      deployments: this.#deployments,
      staleCacheSeconds: this.#staleCacheSeconds,
    };
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
