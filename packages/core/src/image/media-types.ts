/**
 * The manifest, index and config media types the engine understands (opencontainers/image-spec;
 * distribution/distribution:docs/content/spec/manifest-v2-2.md), and the
 * predicates that sort them. Anything else is an artifact or unsupported.
 */

export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
/** OCI 1.1 empty descriptor: the config of artifacts that have none (`{}`, 2 bytes). */
export const OCI_EMPTY = 'application/vnd.oci.empty.v1+json';
export const OCI_EMPTY_DIGEST = 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a';
/**
 * The artifact manifest of the OCI 1.1 release candidates (dropped from the final spec). Registries still
 * hold some; they are never runnable.
 */
export const OCI_ARTIFACT_MANIFEST = 'application/vnd.oci.artifact.manifest.v1+json';

export const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';
export const DOCKER_SCHEMA1 = 'application/vnd.docker.distribution.manifest.v1+json';
export const DOCKER_SCHEMA1_SIGNED = 'application/vnd.docker.distribution.manifest.v1+prettyjws';

/** BuildKit attestation layers (moby/buildkit:docs/attestations/attestation-storage.md). */
export const IN_TOTO = 'application/vnd.in-toto+json';

/** Index annotation BuildKit (and regclient) set on entries that are not images (same document). */
export const REFERENCE_TYPE_ANNOTATION = 'vnd.docker.reference.type';
export const REFERENCE_DIGEST_ANNOTATION = 'vnd.docker.reference.digest';
/** OCI layout `index.json` annotation naming a tag (opencontainers/image-spec:image-layout.md). */
export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';

/**
 * Every manifest type a fetch by digest must accept. ECR converts formats only when fetching by tag
 * (https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-manifest-formats.html), so a fetch by digest
 * returns the pushed bytes whatever the type; AWS's own containerd resolver sends these five
 * (awslabs/amazon-ecr-containerd-resolver:ecr/base.go).
 */
export const ACCEPTED_MANIFEST_MEDIA_TYPES: readonly string[] = [
  OCI_INDEX,
  OCI_MANIFEST,
  DOCKER_MANIFEST_LIST,
  DOCKER_MANIFEST,
  DOCKER_SCHEMA1_SIGNED,
  DOCKER_SCHEMA1,
];

export function isIndexMediaType(mediaType: string): boolean {
  return mediaType === OCI_INDEX || mediaType === DOCKER_MANIFEST_LIST;
}

/** OCI and Docker v2 image manifests (a config descriptor plus layers). */
export function isImageManifestMediaType(mediaType: string): boolean {
  return mediaType === OCI_MANIFEST || mediaType === DOCKER_MANIFEST;
}

export function isSchema1MediaType(mediaType: string): boolean {
  return mediaType === DOCKER_SCHEMA1 || mediaType === DOCKER_SCHEMA1_SIGNED;
}

/** A media type an index entry may point at and the engine will open. */
export function isManifestMediaType(mediaType: string): boolean {
  return (
    isIndexMediaType(mediaType) ||
    isImageManifestMediaType(mediaType) ||
    isSchema1MediaType(mediaType) ||
    mediaType === OCI_ARTIFACT_MANIFEST
  );
}

/**
 * Config media types of runnable images. Any other config type (the empty descriptor, Helm charts,
 * cosign/notation payloads, SBOM types...) makes the manifest an artifact.
 */
export function isImageConfigMediaType(mediaType: string): boolean {
  return mediaType === OCI_CONFIG || mediaType === DOCKER_CONFIG;
}
