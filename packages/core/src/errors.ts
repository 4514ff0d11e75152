/**
 * Every error `@nvcf-ecr/core` throws. One file per package (as Powertools does): each class ends in
 * `Error`, sets `name`, accepts `ErrorOptions`, and hangs off one base so callers can catch the
 * package's errors with one `instanceof`. Messages name the field or value at fault and say how to fix
 * it; they never contain a secret (callers pass masked values only).
 */

import type { ManifestBlob } from './image/fetcher.ts';
import { redactString } from './redact.ts';

/** Base class of every error `@nvcf-ecr/core` throws. */
export class CoreError extends Error {
  public constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CoreError';
  }
}

/** One problem found in a configuration: where it is and how to fix it. */
export interface ConfigIssue {
  /** Dotted path of the offending key, e.g. `registries[0].hostname`; empty for the root. */
  readonly path: string;
  readonly message: string;
}

/** The configuration is invalid. Carries every problem found, not just the first. */
export class ConfigError extends CoreError {
  public override name = 'ConfigError';
  public readonly issues: readonly ConfigIssue[];
  public readonly source: string | undefined;
  public constructor(issues: readonly ConfigIssue[], source?: string, options?: ErrorOptions) {
    const where = source ? ` in ${source}` : '';
    const count = `${issues.length} problem${issues.length === 1 ? '' : 's'}`;
    const lines = issues.map((i) => `  - ${i.path || '(root)'}: ${i.message}`);
    super(`Invalid configuration${where} (${count}):\n${lines.join('\n')}`, options);
    this.issues = issues;
    this.source = source;
  }
}

/** A registry hostname is not one this project (or NVCF) can use. */
export class HostnameError extends CoreError {
  public override name = 'HostnameError';
  /** The hostname as given (hostnames are not secret). */
  public readonly input: string;
  public constructor(message: string, input: string, options?: ErrorOptions) {
    super(message, options);
    this.input = input;
  }
}

/** An image reference (`host/repo[:tag][@digest]`) could not be parsed. */
export class ImageReferenceError extends CoreError {
  public override name = 'ImageReferenceError';
  public readonly input: string;
  public constructor(message: string, input: string, options?: ErrorOptions) {
    super(message, options);
    this.input = input;
  }
}

/** Why a registry credential could not be encoded or decoded. */
export type CredentialCodecErrorCode =
  | 'temporary-key'
  | 'invalid-access-key-id'
  | 'invalid-secret-access-key'
  | 'invalid-base64'
  | 'invalid-format'
  | 'missing-oauthtoken';

/**
 * A registry credential value breaks NVCF's encoding rules
 * (https://docs.nvidia.com/nvcf/third-party-registries).
 */
export class CredentialCodecError extends CoreError {
  public override name = 'CredentialCodecError';
  public readonly code: CredentialCodecErrorCode;
  public constructor(code: CredentialCodecErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** An IAM policy document could not be evaluated (malformed JSON, unknown action syntax, ...). */
export class PolicyEvaluationError extends CoreError {
  public override name = 'PolicyEvaluationError';
}

/** Why a manifest could not be resolved. */
export type ManifestErrorCode =
  | 'invalid-json'
  | 'invalid-manifest'
  | 'unsupported-media-type'
  | 'digest-mismatch'
  | 'too-deep'
  | 'too-large'
  | 'too-many-manifests'
  | 'loop'
  | 'not-found'
  | 'invalid-config';

/** A manifest, index or config blob is malformed, missing or beyond the engine's bounds. */
export class ManifestError extends CoreError {
  public override name = 'ManifestError';
  public readonly code: ManifestErrorCode;
  /** Digest of the manifest or blob at fault, when known. */
  public readonly digest: string | undefined;
  public constructor(code: ManifestErrorCode, message: string, digest?: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.digest = digest;
  }
}

/** An image source (OCI layout, OCI archive, ECR) could not be opened or read. */
export class ImageSourceError extends CoreError {
  public override name = 'ImageSourceError';
  /**
   * True when retrying may help (throttling, 5xx, network); false for answers that will not change
   * (no such repository, no such tag, unreadable file).
   */
  public readonly transient: boolean;
  public constructor(message: string, transient: boolean, options?: ErrorOptions) {
    super(message, options);
    this.transient = transient;
  }
}

/**
 * A `getManifests` call read some digests and failed others one by one (ECR's `BatchGetImage` answers a
 * failure entry per image id,
 * https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_BatchGetImage.html). `found` holds what was
 * read, `failures` each failed digest's own error; `transient` is true when one of them may pass on retry.
 * The fetcher layers narrow it to the digests each caller asked for ({@link
 * PartialManifestsError.forDigests}), so that one image's failure never becomes another image's.
 */
export class PartialManifestsError extends ImageSourceError {
  public override name = 'PartialManifestsError';
  public readonly found: ReadonlyMap<string, ManifestBlob>;
  public readonly failures: ReadonlyMap<string, ImageSourceError>;
  public constructor(
    found: ReadonlyMap<string, ManifestBlob>,
    failures: ReadonlyMap<string, ImageSourceError>,
    options?: ErrorOptions,
  ) {
    const messages = [...failures.values()].map((f) => f.message);
    const shown = messages.slice(0, 3).join('; ');
    super(
      messages.length === 1
        ? shown
        : `${messages.length} manifests could not be read: ${shown}${messages.length > 3 ? `; and ${messages.length - 3} more` : ''}`,
      [...failures.values()].some((f) => f.transient),
      options,
    );
    this.found = found;
    this.failures = failures;
  }

  /** The failures among `digests` (with what was read of them), or `undefined` when none of them failed. */
  public forDigests(digests: Iterable<string>): PartialManifestsError | undefined {
    const found = new Map<string, ManifestBlob>();
    const failures = new Map<string, ImageSourceError>();
    for (const d of digests) {
      const blob = this.found.get(d);
      if (blob) found.set(d, blob);
      const failure = this.failures.get(d);
      if (failure) failures.set(d, failure);
    }
    return failures.size === 0 ? undefined : new PartialManifestsError(found, failures);
  }
}

/** The four rotation steps and the scheduled retirement. */
export type RotationStepName = 'createSecret' | 'setSecret' | 'testSecret' | 'finishSecret' | 'retire';

/** A rotation step failed. The message says what to do; it never carries a key or secret. */
export class RotationError extends CoreError {
  public override name = 'RotationError';
  public readonly step: RotationStepName;
  public readonly secretId: string;
  public constructor(step: RotationStepName, secretId: string, message: string, options?: ErrorOptions) {
    // Messages quote what AWS and NVCF answered; whatever secret-shaped text they echo never leaves here.
    super(redactString(message), options);
    this.step = step;
    this.secretId = secretId;
  }
}

/**
 * A rotation was refused on purpose (previous key still in its grace period, a key NVCF may hold
 * would have to be deleted, an unknown key on the user). Retrying will not help until an operator acts.
 */
export class RotationRefusedError extends RotationError {
  public override name = 'RotationRefusedError';
}

/** An incoming event (EventBridge, Secrets Manager) does not have the shape its handler needs. */
export class EventShapeError extends CoreError {
  public override name = 'EventShapeError';
  public readonly issues: readonly ConfigIssue[];
  public constructor(message: string, issues: readonly ConfigIssue[], options?: ErrorOptions) {
    super(message, options);
    this.issues = issues;
  }
}

/**
 * An event could not be put on the project bus (`PutEvents` failed, or answered a failed entry). The event is
 * the only report of what happened, so callers throw it and let Lambda retry rather than drop it.
 */
export class EventPublishError extends CoreError {
  public override name = 'EventPublishError';
  /** The entry's `ErrorCode` (`ThrottlingException`, `AccessDeniedException`, ...), or the API error's name. */
  public readonly code: string;
  public constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** The audit could not run (as opposed to a check that fails, which is a finding, not an error). */
export class AuditError extends CoreError {
  public override name = 'AuditError';
}

/**
 * An EventBridge event pattern is invalid. `reason` is phrased as EventBridge phrases it after
 * "Event pattern is not valid. Reason: ", so the sandbox can answer `InvalidEventPatternException` with it.
 */
export class EventPatternError extends CoreError {
  public override name = 'EventPatternError';
  public readonly reason: string;
  public constructor(reason: string, options?: ErrorOptions) {
    super(`Event pattern is not valid: ${reason}`, options);
    this.reason = reason;
  }
}

/** An EventBridge schedule expression (`rate(...)`/`cron(...)`) is invalid; the message says why. */
export class ScheduleExpressionError extends CoreError {
  public override name = 'ScheduleExpressionError';
  public readonly expression: string;
  public readonly reason: string;
  public constructor(expression: string, reason: string, options?: ErrorOptions) {
    super(`Schedule expression '${expression}' is not valid: ${reason}`, options);
    this.expression = expression;
    this.reason = reason;
  }
}
