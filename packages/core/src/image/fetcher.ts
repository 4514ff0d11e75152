/**
 * The only way the manifest engine reads anything. Sources (an OCI layout on disk, an OCI archive, the ECR
 * API, the sandbox) implement these two small interfaces; the engine never knows where bytes come from.
 */

/** A manifest or index exactly as stored (its bytes are what the digest covers). */
export interface ManifestBlob {
  digest: string;
  /** The media type the source reported (ECR `imageManifestMediaType`, an OCI descriptor), if any. */
  mediaType: string | undefined;
  bytes: Uint8Array;
}

/**
 * Fetches content by digest. Implementations:
 * - return only what was asked for, exactly as stored (the engine verifies every digest);
 * - throw `ManifestError('too-large')` rather than read more than `maxBytes` of a blob, and
 *   `ManifestError('not-found')` for a blob that does not exist;
 * - throw `ImageSourceError` (with `transient` set) when the source itself fails (throttling, I/O).
 */
export interface ImageFetcher {
  /**
   * Fetch several manifests by digest in ONE round trip (ECR BatchGetImage takes up to 100 ids; an
   * implementation splits larger requests itself). Missing ones are absent from the map.
   */
  getManifests(digests: readonly string[]): Promise<Map<string, ManifestBlob>>;
  /** Fetch a blob (config) by digest, refusing more than maxBytes. */
  getBlob(digest: string, maxBytes: number): Promise<Uint8Array>;
}

/** What a reference (a tag, or nothing for "the only image") points at. */
export interface RootDescriptor {
  /** The reference as the source names it (a tag, `org.opencontainers.image.ref.name`, ...). */
  reference: string;
  digest: string;
  /** The media type the source recorded for the root, if any. */
  mediaType: string | undefined;
  /**
   * The root manifest when resolving the reference already returned it (ECR BatchGetImage by tag), so
   * the engine does not fetch it twice.
   */
  blob?: ManifestBlob | undefined;
}

/**
 * Resolves a reference to its root manifest. Each source does this its own way: an OCI layout reads
 * `index.json`, ECR calls BatchGetImage by tag.
 */
export interface ReferenceResolver {
  /** `reference` undefined means "the only image the source holds"; sources without that notion throw. */
  resolveReference(reference: string | undefined): Promise<RootDescriptor>;
}

/** An opened source: a fetcher plus its reference resolver. */
export interface ImageSource extends ImageFetcher, ReferenceResolver {
  /** Where the content comes from, for messages (`oci:/path/to/layout`). */
  readonly description: string;
  /** Releases files or connections the source holds. */
  close(): Promise<void>;
}
