import { ManifestError } from '../errors.ts';
import { digestProblem } from './digest.ts';
import {
  DOCKER_SCHEMA1,
  DOCKER_SCHEMA1_SIGNED,
  isImageManifestMediaType,
  isIndexMediaType,
  isManifestMediaType,
  isSchema1MediaType,
  OCI_ARTIFACT_MANIFEST,
  OCI_INDEX,
  OCI_MANIFEST,
  REFERENCE_DIGEST_ANNOTATION,
  REFERENCE_TYPE_ANNOTATION,
} from './media-types.ts';
import {
  formatPlatform,
  isUnknownPlatform,
  type Platform,
  platformFromRaw,
  type RawPlatform,
} from './platform.ts';

/**
 * Parsing of OCI indexes and manifests, Docker manifest lists, v2 and schema1 manifests, and config blobs
 * (opencontainers/image-spec:image-index.md, manifest.md, config.md;
 * distribution/distribution:docs/content/spec/manifest-v2-2.md) into small typed shapes. Untrusted input:
 * every field is checked, and anything malformed becomes a {@link ManifestError} naming the field, never
 * another exception.
 */

/**
 * A content descriptor (opencontainers/image-spec:descriptor.md), as found in an index or as a manifest's
 * config.
 */
export interface ContentDescriptor {
  mediaType: string;
  digest: string;
  /** Declared size in bytes; `undefined` when the producer left it out. */
  size: number | undefined;
  /** Normalised platform of an index entry, when it declares one. */
  platform: Platform | undefined;
  /**
   * True for an index entry whose `platform` object has an empty (or no) `os` or `architecture`, e.g.
   * `{"os":"","architecture":""}`: no runtime's platform matches it, so runtimes skip the entry.
   */
  platformEmpty?: boolean;
  annotations: Readonly<Record<string, string>>;
  artifactType: string | undefined;
}

interface ParsedCommon {
  digest: string;
  mediaType: string;
  artifactType: string | undefined;
  /** Digest of the manifest this one refers to (OCI 1.1 referrers: signatures, SBOMs), if any. */
  subject: string | undefined;
}

export interface ParsedIndex extends ParsedCommon {
  kind: 'index';
  manifests: ContentDescriptor[];
}

export interface ParsedImageManifest extends ParsedCommon {
  kind: 'image';
  config: ContentDescriptor;
}

export interface ParsedSchema1Manifest extends ParsedCommon {
  kind: 'schema1';
  /** From the top-level `architecture`; schema1 has no os field at that level, and only Linux used it. */
  platform: Platform;
}

export interface ParsedArtifactManifest extends ParsedCommon {
  kind: 'artifact-manifest';
}

export type ParsedManifest =
  | ParsedIndex
  | ParsedImageManifest
  | ParsedSchema1Manifest
  | ParsedArtifactManifest;

/** Media type hints from outside the document, most trusted first. */
export interface MediaTypeHints {
  /** What the source reported when it returned the bytes. */
  fetched?: string | undefined;
  /** What the referring descriptor (index entry, `index.json`) says. */
  descriptor?: string | undefined;
}

/** Result of {@link parseManifest}: the manifest plus warnings about inconsistent metadata. */
export interface ParseManifestResult {
  manifest: ParsedManifest;
  warnings: string[];
}

/** Decodes strict UTF-8 JSON; `ManifestError('invalid-json')` naming `what` otherwise. */
export function parseJsonBytes(
  bytes: Uint8Array,
  what: string,
  digest: string,
  code: 'invalid-json' | 'invalid-config' = 'invalid-json',
): unknown {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (err) {
    throw new ManifestError(code, `${what} ${digest} is not UTF-8 text, so not JSON`, digest, { cause: err });
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ManifestError(code, `${what} ${digest} is not valid JSON: ${(err as Error).message}`, digest, {
      cause: err,
    });
  }
}

/**
 * Parses a manifest or index. The media type comes from the document's own `mediaType` field (it is part
 * of the hashed bytes, so it is the most trustworthy), else from the source, else from the referring
 * descriptor, else from the shape (old OCI documents omit `mediaType`).
 */
export function parseManifest(
  bytes: Uint8Array,
  digest: string,
  hints: MediaTypeHints = {},
): ParseManifestResult {
  const json = parseJsonBytes(bytes, 'manifest', digest);
  if (!isObject(json)) throw invalid(digest, `manifest ${digest} must be a JSON object, not ${kindOf(json)}`);
  const warnings: string[] = [];
  const own = json['mediaType'];
  if (own !== undefined && typeof own !== 'string')
    throw invalid(digest, `manifest ${digest}: mediaType must be a string`);
  const mediaType = own ?? hints.fetched ?? hints.descriptor ?? inferMediaType(json, digest);
  for (const [label, hint] of [
    ['the source', hints.fetched],
    ['the referring descriptor', hints.descriptor],
  ] as const) {
    if (hint !== undefined && hint !== mediaType) {
      warnings.push(`manifest ${digest} is ${mediaType} but ${label} said ${hint}; judged by its content`);
    }
  }
  const common = {
    digest,
    mediaType,
    artifactType: optionalString(json, 'artifactType', digest),
    subject: subjectOf(json, digest),
  };

  if (isIndexMediaType(mediaType)) {
    requireSchemaVersion(json, 2, digest);
    const list = json['manifests'];
    if (!Array.isArray(list)) throw invalid(digest, `index ${digest}: 'manifests' must be an array`);
    const manifests = list.map((entry, i) => parseDescriptor(entry, `manifests[${i}]`, digest, true));
    return { manifest: { kind: 'index', ...common, manifests }, warnings };
  }
  if (isImageManifestMediaType(mediaType)) {
    requireSchemaVersion(json, 2, digest);
    if (json['layers'] !== undefined && !Array.isArray(json['layers'])) {
      throw invalid(digest, `manifest ${digest}: 'layers' must be an array`);
    }
    const config = parseDescriptor(json['config'], 'config', digest, false);
    return { manifest: { kind: 'image', ...common, config }, warnings };
  }
  if (isSchema1MediaType(mediaType)) {
    requireSchemaVersion(json, 1, digest);
    const arch = json['architecture'];
    if (typeof arch !== 'string' || arch === '') {
      throw invalid(digest, `schema1 manifest ${digest}: 'architecture' must be a non-empty string`);
    }
    const platform = platformFromRaw({ os: 'linux', architecture: arch });
    if (!platform) throw invalid(digest, `schema1 manifest ${digest}: 'architecture' is not usable`);
    return { manifest: { kind: 'schema1', ...common, platform }, warnings };
  }
  if (mediaType === OCI_ARTIFACT_MANIFEST)
    return { manifest: { kind: 'artifact-manifest', ...common }, warnings };
  throw new ManifestError(
    'unsupported-media-type',
    `manifest ${digest} has media type '${mediaType}', which is not an OCI or Docker manifest or index`,
    digest,
  );
}

function inferMediaType(json: Record<string, unknown>, digest: string): string {
  if (json['schemaVersion'] === 1)
    return Array.isArray(json['signatures']) ? DOCKER_SCHEMA1_SIGNED : DOCKER_SCHEMA1;
  if (Array.isArray(json['manifests'])) return OCI_INDEX;
  if (isObject(json['config'])) return OCI_MANIFEST;
  throw invalid(
    digest,
    `manifest ${digest} has no mediaType and neither 'manifests' nor 'config': not a manifest or index`,
  );
}

function requireSchemaVersion(json: Record<string, unknown>, version: number, digest: string): void {
  if (json['schemaVersion'] !== version) {
    throw invalid(
      digest,
      `manifest ${digest}: schemaVersion must be ${version}, got ${show(json['schemaVersion'])}`,
    );
  }
}

function subjectOf(json: Record<string, unknown>, digest: string): string | undefined {
  const subject = json['subject'];
  if (subject === undefined || subject === null) return undefined;
  if (!isObject(subject)) throw invalid(digest, `manifest ${digest}: 'subject' must be a descriptor object`);
  const d = subject['digest'];
  return typeof d === 'string' ? d : '(no digest)';
}

/**
 * Validates a descriptor. `inIndex` allows a `platform` (only index entries carry one). A present but
 * malformed platform is an error rather than "no platform": silently dropping it would change which
 * platforms the image claims.
 */
export function parseDescriptor(
  raw: unknown,
  path: string,
  digest: string,
  inIndex: boolean,
): ContentDescriptor {
  const at = `manifest ${digest}: ${path}`;
  if (!isObject(raw)) throw invalid(digest, `${at} must be a descriptor object, not ${kindOf(raw)}`);
  const mediaType = raw['mediaType'];
  if (typeof mediaType !== 'string' || mediaType === '')
    throw invalid(digest, `${at}.mediaType must be a non-empty string`);
  const d = raw['digest'];
  if (typeof d !== 'string') throw invalid(digest, `${at}.digest must be a string`);
  const problem = digestProblem(d);
  if (problem) throw invalid(digest, `${at}.digest: ${problem}`);
  const size = raw['size'];
  if (size !== undefined && (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0)) {
    throw invalid(digest, `${at}.size must be a non-negative integer`);
  }
  let platform: Platform | undefined;
  let platformEmpty = false;
  if (inIndex && raw['platform'] !== undefined && raw['platform'] !== null) {
    const p = raw['platform'];
    platform = isObject(p) ? platformFromRaw(p as RawPlatform) : undefined;
    // Go decodes a missing or empty os/architecture as "", so containerd's matcher (which compares them with
    // the host's) skips such an entry rather than failing the index; a wrong type fails the whole decode.
    if (!platform && isObject(p) && decodesAsString(p['os']) && decodesAsString(p['architecture'])) {
      platformEmpty = true;
    } else if (!platform) {
      throw invalid(
        digest,
        `${at}.platform must be an object with string 'os' and 'architecture' (both non-empty to be pulled)`,
      );
    }
  }
  const annotations: Record<string, string> = {};
  const rawAnnotations = raw['annotations'];
  if (rawAnnotations !== undefined && rawAnnotations !== null) {
    if (!isObject(rawAnnotations)) throw invalid(digest, `${at}.annotations must be an object of strings`);
    for (const [k, v] of Object.entries(rawAnnotations)) if (typeof v === 'string') annotations[k] = v;
  }
  const artifactType = raw['artifactType'];
  if (artifactType !== undefined && typeof artifactType !== 'string')
    throw invalid(digest, `${at}.artifactType must be a string`);
  const out: ContentDescriptor = { mediaType, digest: d, size, platform, annotations, artifactType };
  if (platformEmpty) out.platformEmpty = true;
  return out;
}

/**
 * Why an index entry is not a runnable image (and is not fetched), or `undefined` for entries to open.
 * - Any `vnd.docker.reference.type` annotation: BuildKit's attestation storage
 *   (moby/buildkit:docs/attestations/attestation-storage.md) says entries with a value other than
 *   `attestation-manifest` must be ignored entirely too, so regclient's `builder` entries
 *   (tag v1 of the regclient test repo) are dropped for the same reason as attestations.
 * - `unknown/unknown` platforms: BuildKit's placeholder "to prevent container runtimes from accidentally
 *   pulling or running" the entry (same document), with or without the annotation.
 * - `artifactType` on the descriptor: an OCI 1.1 artifact.
 * - Media types that are not manifests or indexes (a layer or a blob listed by mistake), and OCI 1.1-rc
 *   artifact manifests.
 * Entries without a `platform` are NOT dropped here, although that would be simpler: nothing in the
 * specs makes the platform mandatory, so they are opened and judged by their config (an image config
 * counts with a warning, an artifact config is ignored).
 */
export function indexEntryIgnoreReason(entry: ContentDescriptor): string | undefined {
  const refType = entry.annotations[REFERENCE_TYPE_ANNOTATION];
  if (refType !== undefined) {
    const of = entry.annotations[REFERENCE_DIGEST_ANNOTATION];
    const target = of ? ` for ${of}` : '';
    return refType === 'attestation-manifest'
      ? `attestation manifest${target} (${REFERENCE_TYPE_ANNOTATION}=attestation-manifest): not runnable`
      : `BuildKit ${refType} entry${target} (${REFERENCE_TYPE_ANNOTATION}=${refType}): not runnable`;
  }
  if (entry.platformEmpty) {
    return 'platform with an empty os or architecture: no host platform matches it, so runtimes skip the entry';
  }
  if (entry.platform && isUnknownPlatform(entry.platform)) {
    return 'platform unknown/unknown marks a non-runnable entry (BuildKit attestation placeholder)';
  }
  if (entry.artifactType !== undefined)
    return `artifact (artifactType ${entry.artifactType}): not a runnable image`;
  if (entry.mediaType === OCI_ARTIFACT_MANIFEST)
    return `OCI artifact manifest (${OCI_ARTIFACT_MANIFEST}): not a runnable image`;
  if (!isManifestMediaType(entry.mediaType))
    return `media type ${entry.mediaType} is not a manifest or index`;
  return undefined;
}

/** Why a parsed manifest is an artifact rather than an image or image index, or `undefined`. */
export function artifactReason(manifest: ParsedManifest): string | undefined {
  if (manifest.subject !== undefined) {
    return `referrer: has a subject (${manifest.subject}), so it is a signature, SBOM or attestation attached to another manifest, not a runnable image`;
  }
  if (manifest.artifactType !== undefined) return `artifact: artifactType ${manifest.artifactType} is set`;
  if (manifest.kind === 'artifact-manifest')
    return `artifact: ${OCI_ARTIFACT_MANIFEST} is an artifact manifest`;
  return undefined;
}

/** A config blob's platform, or `undefined` (with the reason) when it declares none. */
export type ConfigPlatform = { platform: Platform } | { platform: undefined; reason: string };

/**
 * Reads `os`/`architecture`/`variant` from an image config (opencontainers/image-spec:config.md). A config
 * that is not a JSON object is `ManifestError('invalid-config')`. One without `os`/`architecture` (both
 * REQUIRED by that file) is reported as "no platform" rather than an error: regclient's builder manifests
 * (`a-docker`) carry the empty `{}` under the image config media type, and such manifests are artifacts,
 * not broken images to retry.
 */
export function parseConfigPlatform(bytes: Uint8Array, digest: string): ConfigPlatform {
  const json = parseJsonBytes(bytes, 'config', digest, 'invalid-config');
  if (!isObject(json)) {
    throw new ManifestError(
      'invalid-config',
      `config ${digest} must be a JSON object, not ${kindOf(json)}`,
      digest,
    );
  }
  const platform = platformFromRaw(json as RawPlatform);
  if (!platform) {
    return {
      platform: undefined,
      reason: `config ${digest} declares no os/architecture, so it is not a runnable image`,
    };
  }
  if (isUnknownPlatform(platform)) {
    return {
      platform: undefined,
      reason: `config ${digest} declares unknown/unknown (a BuildKit attestation), not a runnable image`,
    };
  }
  return { platform };
}

/** `os/arch[/variant]` of an optional platform. */
export function describePlatform(p: Platform | undefined): string | undefined {
  return p ? formatPlatform(p) : undefined;
}

function optionalString(json: Record<string, unknown>, key: string, digest: string): string | undefined {
  const v = json[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw invalid(digest, `manifest ${digest}: '${key}' must be a string`);
  return v;
}

function invalid(digest: string, message: string): ManifestError {
  return new ManifestError('invalid-manifest', message, digest);
}

/** Absent or a string (empty or not): what Go decodes into a string field without failing. */
function decodesAsString(v: unknown): boolean {
  return v === undefined || v === null || typeof v === 'string';
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function show(v: unknown): string {
  const text = JSON.stringify(v) ?? 'nothing';
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return `a ${typeof v}`;
}
