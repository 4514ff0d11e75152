/**
 * The AWS operations the domain needs beyond its readers, as narrow ports: an object store (S3 `GetObject`,
 * `PutObject`), the project bus (EventBridge `PutEvents`) and ECR Public's image listing (`DescribeImages`).
 * Core never imports an SDK command class for them: importing one pulls its whole client into every bundle
 * that reaches the import. The edge passes an implementation: `./sdk.ts` wraps the SDK v3 clients (the CLI,
 * rotation, validation, tests), `functions/lib/aws/` signs the calls itself (the audit's Lambda bundle, which
 * must stay small: test/bench/README.md, "Cold start").
 *
 * Failures are thrown as the SDK throws them: an error whose `name` is the AWS error code, with
 * `$metadata.httpStatusCode` (read through `aws-errors.ts`), so both implementations are judged alike.
 */

/** An S3 bucket as the domain uses it: whole objects by key. */
export interface ObjectStore {
  /**
   * The object's bytes, or `undefined` when the key does not exist (`NoSuchKey`). Any other failure throws
   * (`AccessDenied` included: S3 answers it for a missing key when the caller may not list the bucket).
   */
  get(bucket: string, key: string): Promise<Uint8Array | undefined>;
  put(bucket: string, key: string, body: string | Uint8Array, contentType: string): Promise<void>;
}

/**
 * One `PutEvents` entry, named as the API names it
 * (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEventsRequestEntry.html).
 */
export interface EventEntry {
  readonly Source: string;
  readonly DetailType: string;
  /** The detail as JSON text. */
  readonly Detail: string;
  readonly Resources: readonly string[];
  readonly EventBusName: string;
  readonly Time?: Date | undefined;
}

/**
 * `PutEvents`' answer (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html): HTTP 200
 * even when entries are refused, each refused one with its `ErrorCode`.
 */
export interface PutEventsResult {
  readonly FailedEntryCount?: number | undefined;
  readonly Entries?:
    | readonly {
        readonly EventId?: string | undefined;
        readonly ErrorCode?: string | undefined;
        readonly ErrorMessage?: string | undefined;
      }[]
    | undefined;
}

/** Puts events on an EventBridge bus. */
export interface EventBus {
  putEvents(entries: readonly EventEntry[]): Promise<PutEventsResult>;
}

/**
 * ECR Public `DescribeImages`' request
 * (https://docs.aws.amazon.com/AmazonECRPublic/latest/APIReference/API_DescribeImages.html).
 */
export interface PublicImagesQuery {
  readonly registryId?: string | undefined;
  readonly repositoryName: string;
  readonly imageIds?:
    | readonly { imageDigest?: string | undefined; imageTag?: string | undefined }[]
    | undefined;
  readonly nextToken?: string | undefined;
  readonly maxResults?: number | undefined;
}

/** The fields of an ECR Public `ImageDetail` the audit reads. */
export interface PublicImageDetail {
  readonly imageDigest?: string | undefined;
  readonly imageTags?: readonly string[] | undefined;
  readonly imageManifestMediaType?: string | undefined;
  readonly imagePushedAt?: Date | undefined;
}

/**
 * Lists images of an ECR Public repository. Unknown repositories and images throw `RepositoryNotFoundException`
 * and `ImageNotFoundException` (by `name`), as the API answers.
 */
export interface PublicImageLister {
  describeImages(query: PublicImagesQuery): Promise<{
    readonly imageDetails?: readonly PublicImageDetail[] | undefined;
    readonly nextToken?: string | undefined;
  }>;
}
