import type { ProblemError } from '../../errors.ts';
import { type FieldViolation, nvcfErrors, validationProblem } from './errors.ts';
import { ARTIFACT_TYPES, type ArtifactType } from './registries.ts';

/**
 * Request bodies as NVCF reads them (`NVIDIA/nvcf`: `SecretDto`, `AddRegistryCredentialRequest`,
 * `UpdateRegistryCredentialRequest`, `JacksonConfiguration`): first Jackson (case-insensitive enums, unknown
 * properties ignored, scalars coerced to strings; anything it cannot bind is Spring's 400 "Failed to read
 * request"), then bean validation (400 "Validation failed: [...]" listing every violated constraint, in the
 * order the DTO declares them). Constants from `NvcfConstants`: hostname regex and 255 chars, 64 tags of at
 * most 128 chars matching `[a-zA-Z0-9\-_:=]+`, description ≤ 256, secret names 1–48 chars matching
 * `^[a-z0-9A-Z][a-z0-9A-Z\_\.\-]*$`, secret values of trimmed length 1–32768.
 */

export const HOSTNAME_REGEX = '(?=^.{4,253}$)(^((?!-)[a-zA-Z0-9-]{1,63}(?<!-)\\.)+[a-zA-Z0-9]{2,63}$)';
const HOSTNAME = new RegExp(HOSTNAME_REGEX);
const SECRET_NAME_REGEX = '^[a-z0-9A-Z][a-z0-9A-Z\\_\\.\\-]*$';
// Java's regex reads `\_` as a literal underscore; JavaScript's `u`-less regex does too.
const SECRET_NAME = /^[a-z0-9A-Z][a-z0-9A-Z_.-]*$/;
const TAG_REGEX = '[a-zA-Z0-9\\-_:=]+';
const TAG = /^[a-zA-Z0-9\-_:=]+$/;
export const MAX_HOSTNAME_LENGTH = 255;
export const MAX_TAGS = 64;
export const MAX_TAG_LENGTH = 128;
export const MAX_DESCRIPTION_LENGTH = 256;
export const MAX_SECRET_NAME_LENGTH = 48;
export const MAX_SECRET_VALUE_LENGTH = 32768;

export interface SecretInput {
  readonly name: string;
  /** Any JSON value: NVCF's `SecretDto.value` is a `JsonNode`; the format check refuses non-strings later. */
  readonly value: unknown;
}

export interface AddRequest {
  readonly registryHostname: string;
  readonly secret: SecretInput;
  readonly artifactTypes: readonly ArtifactType[];
  readonly tags: readonly string[] | undefined;
  readonly description: string | undefined;
}

export interface UpdateRequest {
  readonly secret: SecretInput | undefined;
  readonly artifactTypeEnums: readonly ArtifactType[] | undefined;
}

function parseBody(body: Buffer): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw nvcfErrors.unreadable();
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw nvcfErrors.unreadable();
  return parsed as Record<string, unknown>;
}

/** Jackson's String binding: strings as they are, numbers and booleans coerced, structures refused. */
function bindString(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw nvcfErrors.unreadable();
}

/** `Set<ArtifactTypeEnum>` with `ACCEPT_CASE_INSENSITIVE_ENUMS`: an array of known names, de-duplicated. */
function bindArtifactTypes(v: unknown): ArtifactType[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw nvcfErrors.unreadable();
  const out: ArtifactType[] = [];
  for (const item of v) {
    if (typeof item !== 'string') throw nvcfErrors.unreadable();
    const t = ARTIFACT_TYPES.find((a) => a === item.toUpperCase());
    if (!t) throw nvcfErrors.unreadable();
    if (!out.includes(t)) out.push(t);
  }
  return out;
}

function bindTags(v: unknown): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw nvcfErrors.unreadable();
  const out: string[] = [];
  for (const item of v) {
    const s = bindString(item);
    if (s === undefined) throw nvcfErrors.unreadable();
    if (!out.includes(s)) out.push(s);
  }
  return out;
}

/**
 * `SecretDto`: a record whose components carry Lombok `@NonNull`, so a missing name or value fails while
 * Jackson builds it (unreadable body), not in bean validation.
 */
function bindSecret(v: unknown): SecretInput | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw nvcfErrors.unreadable();
  const raw = v as Record<string, unknown>;
  const name = bindString(raw['name']);
  const value = raw['value'];
  if (name === undefined || value === undefined || value === null) throw nvcfErrors.unreadable();
  return { name, value };
}

/**
 * The SecretDto constraints. NVIDIA/nvcf @ fadc0f8 declares them on `SecretDto` but its registry-credential
 * requests do not mark `secret` `@Valid`, so Hibernate Validator would not cascade into it; we enforce them
 * anyway, as `SecretDto`'s annotations and the published OpenAPI schema state them, so that nothing this
 * project sends depends on a laxer server.
 */
function secretViolations(object: string, secret: SecretInput): FieldViolation[] {
  const out: FieldViolation[] = [];
  const name = secret.name;
  if (!SECRET_NAME.test(name)) {
    out.push({
      object,
      field: 'secret.name',
      rejected: name,
      message: `Invalid secret name: Must conform to regex ${SECRET_NAME_REGEX}`,
    });
  }
  if (name.length < 1 || name.length > MAX_SECRET_NAME_LENGTH) {
    out.push({
      object,
      field: 'secret.name',
      rejected: name,
      message: `Invalid secret name: must be 1 - ${MAX_SECRET_NAME_LENGTH} chars long`,
    });
  }
  if (name.trim() === '')
    out.push({ object, field: 'secret.name', rejected: name, message: 'must not be blank' });
  // `SecretValueLengthValidator`: strings by their text, other JSON by its serialisation, trimmed.
  const text = typeof secret.value === 'string' ? secret.value : JSON.stringify(secret.value);
  const length = text.trim().length;
  if (length === 0 || length > MAX_SECRET_VALUE_LENGTH) {
    // The rejected value is a secret: NVCF would echo (up to 256 chars of) it; the sandbox never does.
    out.push({
      object,
      field: 'secret.value',
      rejected: `[${length} chars]`,
      message: 'Invalid secret value specified',
    });
  }
  return out;
}

/** Reads and validates a POST body (`AddRegistryCredentialRequest`), or throws NVCF's 400. */
export function parseAddRequest(body: Buffer): AddRequest {
  const raw = parseBody(body);
  // Binding (Jackson building the DTO) fails with NVCF's unreadable-body 400 before any bean validation.
  const bound = {
    registryHostname: bindString(raw['registryHostname']),
    secret: bindSecret(raw['secret']),
    artifactTypes: bindArtifactTypes(raw['artifactTypes']),
    tags: bindTags(raw['tags']),
    description: bindString(raw['description']),
  };
  const object = 'addRegistryCredentialRequest';
  const v: FieldViolation[] = [];
  const host = bound.registryHostname;
  if (host !== undefined && !HOSTNAME.test(host)) {
    v.push({
      object,
      field: 'registryHostname',
      rejected: host,
      message: `Invalid hostname: Must conform to regex ${HOSTNAME_REGEX}`,
    });
  }
  if (host !== undefined && (host.length < 1 || host.length > MAX_HOSTNAME_LENGTH)) {
    v.push({
      object,
      field: 'registryHostname',
      rejected: host,
      message: `Invalid hostname: Must be 1 - ${MAX_HOSTNAME_LENGTH} chars long`,
    });
  }
  if (host === undefined || host.trim() === '')
    v.push({ object, field: 'registryHostname', rejected: host, message: 'must not be blank' });
  if (bound.secret === undefined)
    v.push({ object, field: 'secret', rejected: undefined, message: 'must not be null' });
  if (bound.artifactTypes === undefined)
    v.push({ object, field: 'artifactTypes', rejected: undefined, message: 'must not be null' });
  if (bound.artifactTypes === undefined || bound.artifactTypes.length === 0) {
    v.push({ object, field: 'artifactTypes', rejected: bound.artifactTypes, message: 'must not be empty' });
  }
  if (bound.tags !== undefined) {
    if (bound.tags.length > MAX_TAGS)
      v.push({
        object,
        field: 'tags',
        rejected: bound.tags,
        message: `Maximum number of tags of ${MAX_TAGS} is exceeded.`,
      });
    for (const tag of bound.tags) {
      if (tag.length > MAX_TAG_LENGTH)
        v.push({
          object,
          field: 'tags[]',
          rejected: tag,
          message: `Maximum tag length of ${MAX_TAG_LENGTH} is exceeded.`,
        });
      if (!TAG.test(tag))
        v.push({ object, field: 'tags[]', rejected: tag, message: `must match "${TAG_REGEX}"` });
    }
  }
  if (bound.description !== undefined && bound.description.length > MAX_DESCRIPTION_LENGTH) {
    v.push({
      object,
      field: 'description',
      rejected: bound.description,
      message: `Maximum description length of ${MAX_DESCRIPTION_LENGTH} is exceeded.`,
    });
  }
  if (bound.secret) v.push(...secretViolations(object, bound.secret));
  if (v.length > 0) throw validationProblem(v);
  return {
    registryHostname: host as string,
    secret: bound.secret as SecretInput,
    artifactTypes: bound.artifactTypes as ArtifactType[],
    tags: bound.tags,
    description: bound.description,
  };
}

/**
 * Reads a PATCH body (`UpdateRegistryCredentialRequest`): only `secret` and `artifactTypeEnums` are read;
 * every other property — including the tempting wrong name `artifactTypes` — is ignored
 * (`FAIL_ON_UNKNOWN_PROPERTIES` disabled in `JacksonConfiguration`).
 */
export function parseUpdateRequest(body: Buffer): UpdateRequest {
  const raw = parseBody(body);
  const bound = {
    secret: bindSecret(raw['secret']),
    artifactTypeEnums: bindArtifactTypes(raw['artifactTypeEnums']),
  };
  if (bound.secret) {
    const v = secretViolations('updateRegistryCredentialRequest', bound.secret);
    if (v.length > 0) throw validationProblem(v);
  }
  return bound;
}

/** Spring's conversion of a `Set<Enum>` query parameter (repeated or comma-separated, case-insensitive). */
export function parseEnumSet<T extends string>(
  params: URLSearchParams,
  name: string,
  allowed: readonly T[],
): T[] | ProblemError {
  const raw = params.getAll(name);
  const values = raw.flatMap((r) => r.split(',')).map((s) => s.trim());
  // `defaultValue` applies when the parameter is absent or empty.
  if (values.every((s) => s === '')) return [...allowed];
  const out: T[] = [];
  for (const s of values) {
    if (s === '') continue;
    const t = allowed.find((a) => a === s.toUpperCase());
    if (!t) return nvcfErrors.typeMismatch(name, raw.join(','));
    if (!out.includes(t)) out.push(t);
  }
  return out;
}

const UUID = /^[0-9a-fA-F]{1,8}-[0-9a-fA-F]{1,4}-[0-9a-fA-F]{1,4}-[0-9a-fA-F]{1,4}-[0-9a-fA-F]{1,12}$/;

/**
 * A `@PathVariable UUID`: Java's `UUID.fromString` (five dash-separated hex groups of at most 8-4-4-4-12
 * digits), normalised to the canonical lower-case form NVCF echoes; otherwise Spring's 400 type mismatch.
 */
export function parseUuid(name: string, value: string): string {
  const decoded = safeDecode(value);
  const id = canonicalUuid(decoded);
  if (id === undefined) throw nvcfErrors.typeMismatch(name, decoded);
  return id;
}

/** The canonical lower-case form of a UUID (as Java's `UUID.toString()` prints it), or undefined. */
export function canonicalUuid(value: string): string | undefined {
  if (!UUID.test(value)) return undefined;
  const [a = '', b = '', c = '', d = '', e = ''] = value.toLowerCase().split('-');
  return `${a.padStart(8, '0')}-${b.padStart(4, '0')}-${c.padStart(4, '0')}-${d.padStart(4, '0')}-${e.padStart(12, '0')}`;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
