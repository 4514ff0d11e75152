/**
 * `POST /_sandbox/seed {"nvcf": {...}}` parsing: each seeded entry checked and completed into a record with a
 * clear error naming the field, apart from the backend that stores them.
 */
import { SandboxError } from '../../errors.ts';
import * as ids from '../../ids.ts';
import {
  type AccountRecord,
  type ApiKeyRecord,
  type CredentialRecord,
  DEFAULT_MAX_CREDENTIALS,
  DEFAULT_NCA_ID,
  type DeploymentRecord,
  type FunctionRecord,
  MAX_CREDENTIALS_LIMIT,
  PROVISIONED_BY,
  type ProvisionedBy,
  sortTypes,
  VISIBILITIES,
  type Visibility,
} from './records.ts';
import { ARTIFACT_TYPES, type ArtifactType, recognizedRegistryName } from './registries.ts';
import { canonicalUuid } from './validation.ts';

/** A parsed seed section: the records to upsert and the counts the control plane answers with. */
export interface NvcfSeed {
  accounts: AccountRecord[];
  keys: ApiKeyRecord[];
  functions: FunctionRecord[];
  deployments: DeploymentRecord[];
  credentials: CredentialRecord[];
  staleCacheSeconds: number | undefined;
  counts: Record<string, number>;
}

/**
 * `accounts: [{ncaId, maxRegistryCredentials?}]`, `apiKeys: [{key, scopes, account?, revoked?}]`,
 * `functions: [FunctionDto & {visibility?}]`, `deployments: [FunctionDeploymentDto]`,
 * `credentials: [{registryHostname, secret: {name, value}, artifactTypes, provisionedBy?, tags?, description?,
 * ncaId?}]`, `staleCacheSeconds`. Nothing is stored until the whole section parses.
 */
export function parseNvcfSeed(section: unknown, now: string): NvcfSeed {
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
  const functions = list('functions').map((f, i) => seedFunction(f, i, now));
  const deployments = list('deployments').map((d, i) => seedDeployment(d, i, now));
  const credentials = list('credentials').map((c, i) => seedCredential(c, i, now));
  let staleCacheSeconds: number | undefined;
  if (s['staleCacheSeconds'] !== undefined) {
    const v = s['staleCacheSeconds'];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
      throw new SandboxError('nvcf seed: staleCacheSeconds must be a non-negative number');
    staleCacheSeconds = v;
  }
  return { accounts, keys, functions, deployments, credentials, staleCacheSeconds, counts };
}

function seedCredential(raw: unknown, i: number, now: string): CredentialRecord {
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
