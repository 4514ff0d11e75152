import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';
import { Sha256 } from '@aws-crypto/sha256-js';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import type { RunningSandbox } from '@nvcf-ecr/sandbox';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clients, rejection, userClients, withSandbox } from '../../helpers/sandbox.ts';

/**
 * S3 conformance (REST, path style) with the current SDK v3 client, which sends flexible checksums by default
 * and streams bodies `aws-chunked` with a trailing checksum: bucket and object calls, S3's XML errors, IAM
 * authorisation on `arn:aws:s3:::bucket/key`.
 */

const md5 = (data: string | Buffer) => `"${createHash('md5').update(data).digest('hex')}"`;
const crc32Base64 = (data: Buffer) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(crc32(data) >>> 0);
  return b.toString('base64');
};

let counter = 0;
const bucketName = (base: string) => `${base}-${++counter}`;

describe('Sandbox: S3 conformance', () => {
  let sb: RunningSandbox;
  let s3: S3Client;
  let admin: ReturnType<typeof clients>;

  const s3In = (region: string) =>
    new S3Client({
      region,
      endpoint: sb.awsEndpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: sb.accessKeyId, secretAccessKey: sb.secretAccessKey },
      maxAttempts: 1,
    });

  async function bucket(base: string): Promise<string> {
    const name = bucketName(base);
    await s3.send(new CreateBucketCommand({ Bucket: name }));
    return name;
  }

  beforeAll(async () => {
    sb = await withSandbox();
    admin = clients(sb);
    s3 = admin.s3;
  });
  afterAll(() => sb.close());

  describe('Buckets', () => {
    it('creates a bucket and reports its region on HeadBucket', async () => {
      const name = await bucket('reports');
      const head = await s3.send(new HeadBucketCommand({ Bucket: name }));
      expect(head.BucketRegion).toBe('us-east-1');
    });

    it('answers 200 when re-creating an own bucket in us-east-1 (legacy), BucketAlreadyOwnedByYou (409) elsewhere', async () => {
      const east = await bucket('east');
      await expect(s3.send(new CreateBucketCommand({ Bucket: east }))).resolves.toBeDefined();
      const westClient = s3In('us-west-2');
      const west = bucketName('west');
      await westClient.send(new CreateBucketCommand({ Bucket: west }));
      const err = await rejection(westClient.send(new CreateBucketCommand({ Bucket: west })));
      expect(err.name).toBe('BucketAlreadyOwnedByYou');
      expect(err.$metadata?.httpStatusCode).toBe(409);
      expect(err.message).toBe(
        'Your previous request to create the named bucket succeeded and you already own it.',
      );
      expect((await westClient.send(new HeadBucketCommand({ Bucket: west }))).BucketRegion).toBe('us-west-2');
    });

    it('refuses an invalid bucket name with InvalidBucketName', async () => {
      const err = await rejection(s3.send(new CreateBucketCommand({ Bucket: 'ab' })));
      expect(err.name).toBe('InvalidBucketName');
      expect(err.$metadata?.httpStatusCode).toBe(400);
      expect(err.message).toBe('The specified bucket is not valid.');
    });

    it('answers HeadBucket on a missing bucket with 404 NotFound', async () => {
      const err = await rejection(s3.send(new HeadBucketCommand({ Bucket: 'no-such-bucket-here' })));
      expect(err.$metadata?.httpStatusCode).toBe(404);
      expect(err.name).toBe('NotFound');
    });

    it('refuses to delete a bucket that holds objects (BucketNotEmpty)', async () => {
      const name = await bucket('full');
      await s3.send(new PutObjectCommand({ Bucket: name, Key: 'k', Body: 'v' }));
      const err = await rejection(s3.send(new DeleteBucketCommand({ Bucket: name })));
      expect(err.name).toBe('BucketNotEmpty');
      expect(err.$metadata?.httpStatusCode).toBe(409);
      expect(err.message).toBe('The bucket you tried to delete is not empty');
      await s3.send(new DeleteObjectCommand({ Bucket: name, Key: 'k' }));
      await s3.send(new DeleteBucketCommand({ Bucket: name }));
      expect(
        (await rejection(s3.send(new HeadBucketCommand({ Bucket: name })))).$metadata?.httpStatusCode,
      ).toBe(404);
    });
  });

  describe('Objects', () => {
    it('stores an object with its type and metadata and returns it with the quoted MD5 ETag', async () => {
      const name = await bucket('objects');
      const body = '{"report":1}';
      const put = await s3.send(
        new PutObjectCommand({
          Bucket: name,
          Key: 'audit/2026/report.json',
          Body: body,
          ContentType: 'application/json',
          Metadata: { run: 'r1' },
        }),
      );
      expect(put.ETag).toBe(md5(body));
      const got = await s3.send(new GetObjectCommand({ Bucket: name, Key: 'audit/2026/report.json' }));
      expect(await got.Body?.transformToString()).toBe(body);
      expect(got.ContentType).toBe('application/json');
      expect(got.ETag).toBe(md5(body));
      expect(got.Metadata).toEqual({ run: 'r1' });
      const head = await s3.send(new HeadObjectCommand({ Bucket: name, Key: 'audit/2026/report.json' }));
      expect(head.ContentLength).toBe(Buffer.byteLength(body));
    });

    it('decodes an aws-chunked streamed body with its trailing CRC32', async () => {
      const name = await bucket('stream');
      const parts = [Buffer.from('hello '), Buffer.from('streamed '), Buffer.from('world')];
      const data = Buffer.concat(parts);
      const sent: Record<string, string>[] = [];
      const client = s3In('us-east-1');
      client.middlewareStack.add(
        (next) => async (args) => {
          sent.push({ ...(args.request as HttpRequest).headers });
          return next(args);
        },
        { step: 'finalizeRequest', priority: 'low', name: 'captureHeaders' },
      );
      const put = await client.send(
        new PutObjectCommand({
          Bucket: name,
          Key: 'stream.txt',
          Body: Readable.from(parts),
          ContentLength: data.length,
        }),
      );
      expect(sent[0]?.['content-encoding']).toBe('aws-chunked');
      expect(sent[0]?.['x-amz-content-sha256']).toMatch(/^STREAMING-/);
      expect(put.ETag).toBe(md5(data));
      expect(put.ChecksumCRC32).toBe(crc32Base64(data));
      const got = await client.send(
        new GetObjectCommand({ Bucket: name, Key: 'stream.txt', ChecksumMode: 'ENABLED' }),
      );
      expect(Buffer.from((await got.Body?.transformToByteArray()) ?? []).equals(data)).toBe(true);
      expect(got.ChecksumCRC32).toBe(crc32Base64(data));
      expect(got.ContentEncoding).toBeUndefined();
    });

    it('refuses a body whose checksum does not match (BadDigest)', async () => {
      const name = await bucket('digest');
      const err = await rejection(
        s3.send(new PutObjectCommand({ Bucket: name, Key: 'k', Body: 'payload', ChecksumCRC32: 'AAAAAA==' })),
      );
      expect(err.name).toBe('BadDigest');
      expect(err.$metadata?.httpStatusCode).toBe(400);
      expect(err.message).toBe('The CRC32 you specified did not match the calculated checksum.');
    });

    it('serves byte ranges with 206', async () => {
      const name = await bucket('range');
      await s3.send(new PutObjectCommand({ Bucket: name, Key: 'k', Body: '0123456789' }));
      const got = await s3.send(new GetObjectCommand({ Bucket: name, Key: 'k', Range: 'bytes=2-5' }));
      expect(got.$metadata.httpStatusCode).toBe(206);
      expect(got.ContentRange).toBe('bytes 2-5/10');
      expect(await got.Body?.transformToString()).toBe('2345');
    });

    it('answers NoSuchKey and NoSuchBucket with S3 messages, and HeadObject on a missing key with 404', async () => {
      const name = await bucket('missing');
      const key = await rejection(s3.send(new GetObjectCommand({ Bucket: name, Key: 'nope' })));
      expect(key.name).toBe('NoSuchKey');
      expect(key.$metadata?.httpStatusCode).toBe(404);
      expect(key.message).toBe('The specified key does not exist.');
      const b = await rejection(s3.send(new GetObjectCommand({ Bucket: 'no-such-bucket-here', Key: 'k' })));
      expect(b.name).toBe('NoSuchBucket');
      expect(b.message).toBe('The specified bucket does not exist');
      const head = await rejection(s3.send(new HeadObjectCommand({ Bucket: name, Key: 'nope' })));
      expect(head.$metadata?.httpStatusCode).toBe(404);
      expect(head.name).toBe('NotFound');
    });

    it('deletes objects idempotently (204)', async () => {
      const name = await bucket('delete');
      await s3.send(new PutObjectCommand({ Bucket: name, Key: 'k', Body: 'v' }));
      expect(
        (await s3.send(new DeleteObjectCommand({ Bucket: name, Key: 'k' }))).$metadata.httpStatusCode,
      ).toBe(204);
      expect(
        (await s3.send(new DeleteObjectCommand({ Bucket: name, Key: 'k' }))).$metadata.httpStatusCode,
      ).toBe(204);
      expect((await rejection(s3.send(new GetObjectCommand({ Bucket: name, Key: 'k' })))).name).toBe(
        'NoSuchKey',
      );
    });

    it('answers sub-resources it does not emulate with NotImplemented (501)', async () => {
      const name = await bucket('tagging');
      await s3.send(new PutObjectCommand({ Bucket: name, Key: 'k', Body: 'v' }));
      const err = await rejection(s3.send(new GetObjectTaggingCommand({ Bucket: name, Key: 'k' })));
      expect(err.name).toBe('NotImplemented');
      expect(err.$metadata?.httpStatusCode).toBe(501);
    });
  });

  describe('ListObjectsV2', () => {
    it('lists by prefix, groups by delimiter and paginates with continuation tokens', async () => {
      const name = await bucket('list');
      const keys = ['audit/a.json', 'audit/b.json', 'audit/c.json', 'audit/2026/x.json', 'other.txt'];
      for (const Key of keys) await s3.send(new PutObjectCommand({ Bucket: name, Key, Body: Key }));
      const grouped = await s3.send(
        new ListObjectsV2Command({ Bucket: name, Prefix: 'audit/', Delimiter: '/' }),
      );
      expect(grouped.Contents?.map((o) => o.Key)).toEqual(['audit/a.json', 'audit/b.json', 'audit/c.json']);
      expect(grouped.CommonPrefixes).toEqual([{ Prefix: 'audit/2026/' }]);
      expect(grouped.KeyCount).toBe(4);
      expect(grouped.Contents?.[0]).toMatchObject({
        ETag: md5('audit/a.json'),
        Size: 'audit/a.json'.length,
        StorageClass: 'STANDARD',
      });
      const seen: string[] = [];
      let token: string | undefined;
      do {
        const page = await s3.send(
          new ListObjectsV2Command({ Bucket: name, MaxKeys: 2, ContinuationToken: token }),
        );
        expect(page.Contents?.length).toBeLessThanOrEqual(2);
        seen.push(...(page.Contents ?? []).map((o) => o.Key ?? ''));
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      expect(seen).toEqual([...keys].sort());
    });
  });

  describe('Authorisation', () => {
    it('authorises each call on arn:aws:s3:::bucket/key and answers AccessDenied (403) otherwise', async () => {
      const name = await bucket('authz');
      const { s3: writer } = await userClients(sb, 's3-writer', [
        { Effect: 'Allow', Action: 's3:PutObject', Resource: `arn:aws:s3:::${name}/audit/*` },
      ]);
      await writer.send(new PutObjectCommand({ Bucket: name, Key: 'audit/r.json', Body: '{}' }));
      const err = await rejection(
        writer.send(new PutObjectCommand({ Bucket: name, Key: 'elsewhere.json', Body: '{}' })),
      );
      expect(err.name).toBe('AccessDenied');
      expect(err.$metadata?.httpStatusCode).toBe(403);
      expect(err.message).toBe(
        `User: arn:aws:iam::${sb.accountId}:user/s3-writer is not authorized to perform: s3:PutObject on resource: arn:aws:s3:::${name}/elsewhere.json because no identity-based policy allows the s3:PutObject action`,
      );
    });

    it('keeps the ECR layer bucket to the presigned URLs of the sandbox itself', async () => {
      const err = await rejection(
        s3.send(
          new GetObjectCommand({
            Bucket: `sandbox-ecr-layers-${sb.accountId}-${sb.region}`,
            Key: 'repo/sha256:00',
          }),
        ),
      );
      expect(err.name).toBe('AccessDenied');
      expect(err.$metadata?.httpStatusCode).toBe(403);
    });
  });

  describe('Malformed input', () => {
    it('answers a malformed aws-chunked body with InvalidRequest, never a server error', async () => {
      const name = await bucket('chunks');
      const url = new URL(sb.awsEndpoint);
      const body = 'zz;chunk-signature=0\r\nhello\r\n0\r\n\r\n';
      const signer = new SignatureV4({
        credentials: { accessKeyId: sb.accessKeyId, secretAccessKey: sb.secretAccessKey },
        region: sb.region,
        service: 's3',
        sha256: Sha256,
        uriEscapePath: false,
      });
      const signed = await signer.sign(
        new HttpRequest({
          method: 'PUT',
          protocol: 'http:',
          hostname: url.hostname,
          port: Number(url.port),
          path: `/${name}/k`,
          headers: {
            host: url.host,
            'content-encoding': 'aws-chunked',
            'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
            'x-amz-decoded-content-length': '5',
          },
          body,
        }),
      );
      const { host: _host, ...headers } = signed.headers;
      const res = await fetch(`${sb.awsEndpoint}/${name}/k`, { method: 'PUT', headers, body });
      expect(res.status).toBe(400);
      const xml = await res.text();
      expect(xml).toContain('<Code>InvalidRequest</Code>');
      expect(xml).toContain(
        '<Message>The aws-chunked request body is malformed: &apos;zz;chunk-signature=0&apos; is not a chunk size</Message>',
      );
    });
  });
});
