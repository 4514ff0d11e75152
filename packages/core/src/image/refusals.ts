/**
 * Why a resolution refuses: the {@link ManifestError}s for exceeded bounds, index loops and schema1
 * manifests, and the wrapping of a fetcher's failures. One place for the messages, so each names the
 * content and what to do about it.
 */
import { CoreError, ImageSourceError, ManifestError } from '../errors.ts';
import { MAX_CONFIG_BYTES, MAX_MANIFEST_BYTES } from './resolution.ts';

export function loopError(digest: string): ManifestError {
  return new ManifestError(
    'loop',
    `index ${digest} lists itself (directly or through a nested index): the source serves inconsistent content`,
    digest,
  );
}

/**
 * Why a Docker schema1 manifest is not runnable: containerd 2.0 disabled schema1 pulls and 2.1 removed them
 * (containerd `RELEASES.md`, deprecated features), and Docker Engine 26 refuses them by default
 * (moby/moby pull request 47459; https://docs.docker.com/go/deprecated-image-specs/).
 */
export function schema1Reason(digest: string): string {
  return `manifest ${digest} is a legacy Docker schema1 manifest, which containerd 2.0+ and Docker 26+ refuse to pull: rebuild and push it with a current Docker or BuildKit, or convert it with 'skopeo copy --format v2s2'`;
}

export function tooLargeManifest(digest: string, size: number): ManifestError {
  return new ManifestError(
    'too-large',
    `manifest ${digest} is ${size} bytes; manifests over ${MAX_MANIFEST_BYTES} bytes are refused`,
    digest,
  );
}

export function tooLargeConfig(digest: string, size: number): ManifestError {
  return new ManifestError(
    'too-large',
    `config ${digest} is ${size} bytes; configs over ${MAX_CONFIG_BYTES} bytes are refused`,
    digest,
  );
}

/**
 * Errors from a fetcher: ours pass through; anything else is wrapped as a transient source failure (an
 * unclassified failure is most often the network, and retrying a resolution is harmless).
 */
export function sourceFailure(err: unknown, what: string): CoreError {
  if (err instanceof CoreError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new ImageSourceError(`${what} failed: ${message}`, true, { cause: err });
}
