import type { Config } from '../../config/index.ts';
import type { Logger } from '../../log.ts';
import { type NvcfRegistryCredentialView, nvcfFailureStatus } from '../../ports/nvcf.ts';
import { guard, iso, listText, masked, plural, type RegistryCheckContext } from '../check.ts';
import type { AccountFacts, SecretFact } from '../facts.ts';
import { credentialUsers, functionResource } from '../functions.ts';
import type { CheckDefinition, Finding, FindingDraft } from '../model.ts';
import { PENDING_STUCK_AFTER_MS } from './secret.ts';

/**
 * NVCF checks (NVCF's registry-credential API, NVIDIA/nvcf:src/control-plane-services/…/rest/registry/): the
 * registry credential the rotation maintains exists for the exact hostname with the CONTAINER type, was
 * updated after the current key was created, and no other credential for the host lingers; and the NGC API
 * key the rotation uses still works.
 */

export const NVCF_CHECKS = {
  credentialPresent: {
    id: 'nvcf.credential-present',
    title: 'NVCF has the registry credential, for the exact hostname and CONTAINER images',
    severity: 'critical',
    proves:
      'NVCF holds a registry credential named as configured whose hostname equals the registry hostname exactly (NVCF compares hostnames case-sensitively) and whose artifact types include CONTAINER, so functions can pull.',
    remediation:
      "Rotate the secret: the rotation creates the credential when it is missing (it finds it by hostname and name). Check that the configured credentialName is the credential's name in NVCF.",
  },
  credentialCurrent: {
    id: 'nvcf.credential-current',
    title: 'The NVCF credential was updated after the current key was created',
    severity: 'high',
    proves:
      "The NVCF credential's lastUpdatedAt is after the creation of the key in the secret's AWSCURRENT version, and no other key of the pull user was created between the two (outside a rotation in progress), so the last key NVCF can have been given is the current one. This is inferred from timestamps: NVCF never returns the value, so which key it holds cannot be read.",
    remediation:
      'Rotate the secret: the rotation reconciles NVCF to the current key before it makes room for a new one, and updates the credential in place.',
  },
  credentialDuplicates: {
    id: 'nvcf.credential-duplicates',
    title: 'No other NVCF credential for the same hostname',
    severity: 'medium',
    proves:
      'No other CONTAINER credential exists for the registry hostname. NVCF hands every matching credential to the cluster: one that is not rotated keeps an old key alive in NVCF and hides which key pulls.',
    remediation:
      'Delete the other credential (NVCF refuses while a function uses the hostname; then update it with the current key or exempt the finding with a reason).',
  },
  ngcApiKeyValid: {
    id: 'ngc.api-key-valid',
    title: 'The NGC API key is stored and NVCF accepts it',
    severity: 'critical',
    proves:
      'The NGC API key secret holds a key, and NVCF answers an authenticated list of registry credentials with it, so the rotation can update the credential.',
    remediation:
      'Store a valid key (an NGC personal key with the Cloud Functions role, or a service key with "Manage Registry Credentials" on "All Entity"): aws secretsmanager put-secret-value --secret-id <NGC key secret> --secret-string <key>.',
  },
} as const satisfies Record<string, CheckDefinition>;

/** `nvcf:registry-credential/<host>/<name>`: how findings name an NVCF credential. */
export function credentialResource(hostname: string, name: string): string {
  return `nvcf:registry-credential/${hostname}/${name}`;
}

const hasContainer = (c: NvcfRegistryCredentialView) =>
  c.artifactTypes.some((t) => t.toUpperCase() === 'CONTAINER');

function credentialEvidence(c: NvcfRegistryCredentialView) {
  return {
    registryCredentialId: c.registryCredentialId,
    name: c.registryCredentialName,
    hostname: c.registryHostname,
    artifactTypes: [...c.artifactTypes].sort(),
    provisionedBy: c.provisionedBy,
    lastUpdatedAt: c.lastUpdatedAt,
    createdAt: c.createdAt,
  };
}

export async function nvcfChecks(ctx: RegistryCheckContext): Promise<Finding[]> {
  const { registry, logger, account } = ctx;
  const name = registry.name;
  const resource = credentialResource(registry.hostname, registry.credentialName);
  const credentials = account.credentials();
  const results = await Promise.all([
    guard(NVCF_CHECKS.credentialPresent, resource, name, logger, async () => [
      await credentialPresent(ctx, resource, await credentials),
    ]),
    guard(NVCF_CHECKS.credentialCurrent, resource, name, logger, async () => [
      await credentialCurrent(ctx, resource, await credentials),
    ]),
    guard(NVCF_CHECKS.credentialDuplicates, resource, name, logger, async () =>
      credentialDuplicates(ctx, resource, await credentials),
    ),
  ]);
  return results.flat();
}

function ours(ctx: RegistryCheckContext, credentials: readonly NvcfRegistryCredentialView[]) {
  return credentials.find(
    (c) =>
      c.registryHostname === ctx.registry.hostname &&
      c.registryCredentialName === ctx.registry.credentialName,
  );
}

async function credentialPresent(
  ctx: RegistryCheckContext,
  resource: string,
  credentials: readonly NvcfRegistryCredentialView[],
): Promise<FindingDraft> {
  const { registry } = ctx;
  // Who depends on it decides nothing about the verdict, but tells the reader what breaks without it.
  const users = await ctx.account.functions().then(
    (fns) => credentialUsers(registry, fns),
    () => undefined,
  );
  const usedBy = users
    ? {
        containerFunctions: users.containerFunctions.map((f) => ({
          function: functionResource(f),
          name: f.name,
          status: f.status,
        })),
        helmFunctions: users.helmFunctions.map((f) => ({
          function: functionResource(f),
          name: f.name,
          status: f.status,
        })),
      }
    : null;
  const found = ours(ctx, credentials);
  const near = credentials.filter(
    (c) =>
      c !== found &&
      ((c.registryHostname !== registry.hostname &&
        c.registryHostname.toLowerCase() === registry.hostname.toLowerCase()) ||
        (c.registryHostname === registry.hostname &&
          c.registryCredentialName.toLowerCase() === registry.credentialName.toLowerCase())),
  );
  const evidence = {
    expected: { hostname: registry.hostname, name: registry.credentialName, artifactType: 'CONTAINER' },
    credential: found ? credentialEvidence(found) : null,
    nearMatches: near.map(credentialEvidence),
    usedBy,
  };
  const rotate = `aws secretsmanager rotate-secret --secret-id ${registry.secretName}`;
  const dependants = users
    ? ` ${plural(users.containerFunctions.length, 'function version')} pull from ${registry.hostname}${users.helmFunctions.length > 0 ? ` and ${plural(users.helmFunctions.length, 'Helm function version')} may` : ''}.`
    : '';
  if (!found) {
    return {
      status: 'fail',
      resource,
      message: `NVCF has no registry credential '${registry.credentialName}' for ${registry.hostname}${near.length > 0 ? ` (it has ${listText(near.map((c) => `'${c.registryCredentialName}' for ${c.registryHostname}`))}, which NVCF does not match: hostnames and names are compared exactly)` : ''}.${dependants}`,
      evidence,
      remediation: `Rotate the secret, which creates the credential when it is missing: ${rotate}.`,
    };
  }
  if (!hasContainer(found)) {
    return {
      status: 'fail',
      resource,
      message: `NVCF's credential '${registry.credentialName}' for ${registry.hostname} has artifact types ${found.artifactTypes.join(', ')} but not CONTAINER, so function images are not pulled with it.${dependants}`,
      evidence,
      remediation: `Add the CONTAINER type in place: PATCH /v2/nvcf/registry-credentials/${found.registryCredentialId} with {"artifactTypeEnums":["CONTAINER"]} (types can be added, never removed).`,
    };
  }
  return {
    status: 'pass',
    resource,
    message: `NVCF has credential '${registry.credentialName}' (${found.registryCredentialId}) for ${registry.hostname} with CONTAINER.${dependants}`,
    evidence,
  };
}

async function credentialCurrent(
  ctx: RegistryCheckContext,
  resource: string,
  credentials: readonly NvcfRegistryCredentialView[],
): Promise<FindingDraft> {
  const { registry } = ctx;
  const found = ours(ctx, credentials);
  const secret = await ctx.facts.secret();
  const keyId = secret?.current?.accessKeyId;
  const rotate = `aws secretsmanager rotate-secret --secret-id ${registry.secretName}`;
  if (!found) {
    return {
      status: 'fail',
      resource,
      message: `NVCF cannot hold the current key: it has no credential '${registry.credentialName}' for ${registry.hostname} (see nvcf.credential-present).`,
      evidence: { credential: null },
      remediation: `Rotate the secret, which creates the credential with the current key: ${rotate}.`,
    };
  }
  if (!keyId) {
    const unrecorded = secret?.current?.unrecorded === true && secret.previous !== undefined;
    return {
      status: 'fail',
      resource,
      message: unrecorded
        ? `No key id is recorded for the AWSCURRENT version of ${registry.secretName} (written before the rotation recorded key ids, or by hand), so NVCF's credential cannot be judged against the current key.`
        : `The secret ${registry.secretName} names no key yet, so NVCF's credential cannot be known to hold a key this project manages.`,
      evidence: { credential: credentialEvidence(found), secretKey: null },
      remediation: unrecorded
        ? `Rotate once to record key ids: nvcf-ecr rotate ${registry.name} (or ${rotate}).`
        : `Run the first rotation: ${rotate}.`,
    };
  }
  const key = (await ctx.facts.keys()).find((k) => k.id === keyId);
  const created = key?.created ?? secret?.current?.created;
  const updated = new Date(Date.parse(found.lastUpdatedAt));
  const evidence = {
    credential: credentialEvidence(found),
    currentKey: masked(keyId),
    currentKeyCreated: iso(created),
    lastUpdatedAt: iso(updated),
  };
  if (!created || Number.isNaN(updated.getTime())) {
    return {
      status: 'fail',
      resource,
      message: `Cannot tell whether NVCF holds the current key ${masked(keyId)}: ${!created ? 'the key does not exist on the pull user (see iam.key-matches-secret)' : `NVCF's lastUpdatedAt '${found.lastUpdatedAt}' is not a date`}.`,
      evidence,
      remediation: `Rotate the secret so that NVCF is given a working key: ${rotate}.`,
    };
  }
  if (updated.getTime() < created.getTime()) {
    return {
      status: 'fail',
      resource,
      message: `NVCF's credential '${registry.credentialName}' was last updated ${updated.toISOString()}, before the current key ${masked(keyId)} was created (${created.toISOString()}): NVCF still holds an older key.`,
      evidence,
      remediation: `Rotate the secret, which first brings NVCF to the current key and then replaces it: ${rotate}.`,
    };
  }
  // NVCF never says which key it holds; the timestamps only show which keys it *can* have been given. A key
  // created after the current one and no later than NVCF's last update may be the one NVCF got: a rotation
  // whose setSecret sent it and whose testSecret then failed leaves exactly that, and once its AWSPENDING
  // label is removed the key looks unknown to the secret. Deactivating it would stop new NVCF instances.
  const secretKeys = knownStages(secret);
  const pendingSince = secret?.versions.find((v) => v.stages.includes('AWSPENDING'))?.created;
  const inProgress =
    pendingSince !== undefined && ctx.now.getTime() - pendingSince.getTime() <= PENDING_STUCK_AFTER_MS;
  const later = (await ctx.facts.keys()).filter(
    (k) =>
      k.id !== keyId &&
      k.created !== undefined &&
      k.created.getTime() > created.getTime() &&
      k.created.getTime() <= updated.getTime(),
  );
  const heldMaybe = later.filter((k) => !(inProgress && secretKeys.get(k.id) === 'AWSPENDING'));
  const laterEvidence = later.map((k) => ({
    accessKeyId: masked(k.id),
    status: k.status,
    created: iso(k.created),
    secretStage: secretKeys.get(k.id) ?? null,
  }));
  if (heldMaybe.length > 0) {
    const named = heldMaybe.map(
      (k) =>
        `${masked(k.id)} (${secretKeys.get(k.id) === 'AWSPENDING' ? 'the AWSPENDING key of a rotation that did not finish' : 'unknown to the secret'}, ${k.status}, created ${iso(k.created)})`,
    );
    const which = heldMaybe.length === 1 ? 'that key' : 'one of those keys';
    return {
      status: 'fail',
      resource,
      message: `NVCF may hold ${heldMaybe.length === 1 ? 'key' : 'keys'} ${listText(named)} instead of the current key ${masked(keyId)}: ${heldMaybe.length === 1 ? 'it was' : 'they were'} created after the current key (${created.toISOString()}) and before NVCF's credential '${registry.credentialName}' was last updated (${updated.toISOString()}), as when a rotation gave NVCF a new key and then failed.`,
      evidence: { ...evidence, laterKeys: laterEvidence },
      remediation: `Rotate the secret before deactivating anything: ${rotate} (the rotation points NVCF back at the current key before it deletes a key; if it refuses because ${which} is in use, NVCF is pulling with it: run nvcf-ecr rotate ${registry.name} --force). Deactivating ${which} first would stop new NVCF instances from pulling.`,
    };
  }
  return {
    status: 'pass',
    resource,
    message: `NVCF's credential was updated ${updated.toISOString()}, after the current key ${masked(keyId)} was created (${created.toISOString()})${later.length > 0 ? `; the newer key ${listText(later.map((k) => masked(k.id)))} is the pending key of a rotation in progress` : ', and no newer key exists'}.`,
    evidence: { ...evidence, laterKeys: laterEvidence },
  };
}

/** Which stage of the secret names each key id. */
function knownStages(secret: SecretFact | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (secret?.previous?.accessKeyId) out.set(secret.previous.accessKeyId, 'AWSPREVIOUS');
  if (secret?.pending?.accessKeyId) out.set(secret.pending.accessKeyId, 'AWSPENDING');
  if (secret?.current?.accessKeyId) out.set(secret.current.accessKeyId, 'AWSCURRENT');
  return out;
}

async function credentialDuplicates(
  ctx: RegistryCheckContext,
  resource: string,
  credentials: readonly NvcfRegistryCredentialView[],
): Promise<FindingDraft[]> {
  const { registry } = ctx;
  const found = ours(ctx, credentials);
  const others = credentials.filter(
    (c) => c !== found && c.registryHostname === registry.hostname && hasContainer(c),
  );
  if (others.length === 0) {
    return [
      {
        status: 'pass',
        resource,
        message: `No other CONTAINER credential for ${registry.hostname} in NVCF.`,
        evidence: { credentialsForHost: found ? 1 : 0 },
      },
    ];
  }
  const secret = await ctx.facts.secret().catch(() => undefined);
  const keyId = secret?.current?.accessKeyId;
  const key = keyId ? (await ctx.facts.keys().catch(() => [])).find((k) => k.id === keyId) : undefined;
  return others.map((c) => {
    const updated = Date.parse(c.lastUpdatedAt);
    const stale = key?.created !== undefined && !Number.isNaN(updated) && updated < key.created.getTime();
    return {
      status: 'fail',
      resource: credentialResource(c.registryHostname, c.registryCredentialName),
      message: `NVCF also has credential '${c.registryCredentialName}' (${c.registryCredentialId}, ${c.provisionedBy}) for ${registry.hostname}, which this project does not rotate${stale ? `; it was last updated ${c.lastUpdatedAt}, before the current key was created, so it may hold a dead key` : ''}.`,
      evidence: { duplicate: credentialEvidence(c), managed: found ? credentialEvidence(found) : null },
      remediation:
        c.provisionedBy === 'SYSTEM'
          ? 'It is provisioned by the system and cannot be deleted through the API: replace its value in the NVCF bootstrap configuration, or exempt this finding with a reason.'
          : `Delete it: DELETE /v2/nvcf/registry-credentials/${c.registryCredentialId} (ngc cf registry-credential remove). NVCF refuses while any function uses ${registry.hostname}; then keep it updated or exempt this finding with a reason.`,
    };
  });
}

/** `ngc:api-key/<secret name>`: how findings name the NGC API key. */
export function ngcKeyResource(config: Config): string {
  return `ngc:api-key/${config.ngc.apiKeySecretName}`;
}

/** The account-wide NGC API key check: stored, and accepted by NVCF (the credential list is the probe). */
export async function ngcApiKeyCheck(
  config: Config,
  account: AccountFacts,
  logger: Logger,
): Promise<Finding[]> {
  const resource = ngcKeyResource(config);
  const secretName = config.ngc.apiKeySecretName;
  return guard(NVCF_CHECKS.ngcApiKeyValid, resource, undefined, logger, async () => {
    const state = await account.ngcKey();
    const evidence: Record<string, unknown> = {
      secretName,
      stored: state === 'stored',
      probe: 'GET /v2/nvcf/registry-credentials',
    };
    if (state !== 'stored') {
      return [
        {
          status: 'fail',
          resource,
          message: `The NGC API key secret ${secretName} holds no key${state === 'missing' ? ' (the secret or its value does not exist)' : ''}: the rotation cannot update NVCF.`,
          evidence,
          remediation: `Store the key: aws secretsmanager put-secret-value --secret-id ${secretName} --secret-string <NGC API key>.`,
        },
      ];
    }
    try {
      const list = await account.credentials();
      return [
        {
          status: 'pass',
          resource,
          message: `NVCF accepts the NGC API key in ${secretName} (listed ${plural(list.length, 'registry credential')}).`,
          evidence,
        },
      ];
    } catch (err) {
      const status = nvcfFailureStatus(err);
      if (status === 401 || status === 403) {
        return [
          {
            status: 'fail',
            resource,
            message:
              status === 401
                ? `NVCF rejects the NGC API key in ${secretName} (401): it is invalid, expired or revoked.`
                : `NVCF refuses the NGC API key in ${secretName} (403): it lacks the registry-credential scope (a service key also needs resource type "All Entity").`,
            evidence: { ...evidence, status },
          },
        ];
      }
      throw err;
    }
  });
}
