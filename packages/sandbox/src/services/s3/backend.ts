import { createHash } from 'node:crypto';
import type { ChecksumAlgorithm } from './chunked.ts';
import { s3Errors } from './errors.ts';

/**
 * S3 state of the emulated account: buckets (name, region, creation time) and their objects (bytes, ETag,
 * content headers, user metadata, checksums). What the audit stores its reports in.
 */

export interface ObjectRecord {
  readonly key: string;
  readonly data: Buffer;
  /** Quoted MD5 hex of the bytes, as S3 reports single-part objects. */
  readonly etag: string;
  readonly lastModified: number;
  readonly contentType: string;
  readonly contentEncoding: string | undefined;
  readonly cacheControl: string | undefined;
  readonly contentDisposition: string | undefined;
  readonly metadata: Record<string, string>;
  readonly checksums: Partial<Record<ChecksumAlgorithm, string>>;
}

export interface BucketRecord {
  readonly name: string;
  readonly region: string;
  readonly createdAt: number;
  readonly objects: Map<string, ObjectRecord>;
}

/** S3's bucket naming rules (general purpose buckets): 3–63 of a-z 0-9 . -, starting and ending alphanumeric. */
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export function isValidBucketName(name: string): boolean {
  return (
    BUCKET_NAME.test(name) &&
    !name.includes('..') &&
    !/^\d+\.\d+\.\d+\.\d+$/.test(name) &&
    !name.startsWith('xn--')
  );
}

export type ObjectInput = Omit<ObjectRecord, 'etag' | 'lastModified' | 'key'>;

export interface S3Snapshot {
  buckets: {
    name: string;
    region: string;
    createdAt: number;
    objects: (Omit<ObjectRecord, 'data'> & { data: string })[];
  }[];
}

export class S3Backend {
  readonly buckets = new Map<string, BucketRecord>();
  readonly #now: () => number;

  public constructor(now: () => number) {
    this.#now = now;
  }

  public bucket(name: string): BucketRecord {
    const b = this.buckets.get(name);
    if (!b) throw s3Errors.noSuchBucket(name);
    return b;
  }

  /**
   * Creates a bucket. Re-creating one's own bucket is `BucketAlreadyOwnedByYou` (409) everywhere except in
   * us-east-1, where S3 keeps its legacy answer, 200 OK (S3 API reference, CreateBucket errors).
   */
  public createBucket(name: string, region: string): BucketRecord {
    const existing = this.buckets.get(name);
    if (existing) {
      if (region === 'us-east-1' && existing.region === 'us-east-1') return existing;
      throw s3Errors.bucketAlreadyOwnedByYou(name);
    }
    const b: BucketRecord = { name, region, createdAt: this.#now(), objects: new Map() };
    this.buckets.set(name, b);
    return b;
  }

  public deleteBucket(name: string): void {
    const b = this.bucket(name);
    if (b.objects.size > 0) throw s3Errors.bucketNotEmpty(name);
    this.buckets.delete(name);
  }

  public putObject(bucket: string, key: string, input: ObjectInput): ObjectRecord {
    const b = this.bucket(bucket);
    const record: ObjectRecord = {
      key,
      ...input,
      etag: `"${createHash('md5').update(input.data).digest('hex')}"`,
      lastModified: this.#now(),
    };
    b.objects.set(key, record);
    return record;
  }

  public getObject(bucket: string, key: string): ObjectRecord {
    const o = this.bucket(bucket).objects.get(key);
    if (!o) throw s3Errors.noSuchKey(key);
    return o;
  }

  /** S3 answers 204 whether or not the key existed. */
  public deleteObject(bucket: string, key: string): void {
    this.bucket(bucket).objects.delete(key);
  }

  public snapshot(): S3Snapshot {
    return {
      buckets: [...this.buckets.values()].map((b) => ({
        name: b.name,
        region: b.region,
        createdAt: b.createdAt,
        objects: [...b.objects.values()].map((o) => ({ ...o, data: o.data.toString('base64') })),
      })),
    };
  }

  public restore(s: S3Snapshot): void {
    this.buckets.clear();
    for (const b of s.buckets ?? []) {
      const objects = new Map<string, ObjectRecord>();
      for (const o of b.objects) objects.set(o.key, { ...o, data: Buffer.from(o.data, 'base64') });
      this.buckets.set(b.name, { name: b.name, region: b.region, createdAt: b.createdAt, objects });
    }
  }
}
