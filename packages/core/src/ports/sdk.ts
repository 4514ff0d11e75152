import { DescribeImagesCommand, type ECRPUBLICClient } from '@aws-sdk/client-ecr-public';
import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { EventBus, ObjectStore, PublicImageLister } from './aws.ts';

/**
 * The AWS ports (`./aws.ts`) over AWS SDK v3 clients the edge built: what the CLI, the rotation, the
 * validation and the tests pass. The clients keep their own retries, timeouts and errors.
 */

export function sdkObjectStore(s3: Pick<S3Client, 'send'>): ObjectStore {
  return {
    async get(bucket, key) {
      try {
        const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        return out.Body ? await out.Body.transformToByteArray() : new Uint8Array();
      } catch (err) {
        if (err instanceof Error && err.name === 'NoSuchKey') return undefined;
        throw err;
      }
    },
    async put(bucket, key, body, contentType) {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }));
    },
  };
}

export function sdkEventBus(events: Pick<EventBridgeClient, 'send'>): EventBus {
  return {
    putEvents: (entries) =>
      events.send(
        new PutEventsCommand({ Entries: entries.map((e) => ({ ...e, Resources: [...e.Resources] })) }),
      ),
  };
}

export function sdkPublicImageLister(ecrPublic: Pick<ECRPUBLICClient, 'send'>): PublicImageLister {
  return {
    describeImages: (query) =>
      ecrPublic.send(
        new DescribeImagesCommand({ ...query, imageIds: query.imageIds?.map((id) => ({ ...id })) }),
      ),
  };
}
