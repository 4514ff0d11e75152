import { ACCOUNT } from './config.ts';

/**
 * `ECR Image Action` events as ECR puts them on EventBridge
 * (https://docs.aws.amazon.com/AmazonECR/latest/userguide/ecr-eventbridge.html).
 */

/** The guide's push sample, verbatim: its digest has 60 hex characters, as published. */
export const AWS_PUSH_SAMPLE = {
  version: '0',
  id: '13cde686-328b-6117-af20-0e5566167482',
  'detail-type': 'ECR Image Action',
  source: 'aws.ecr',
  account: '123456789012',
  time: '2019-11-16T01:54:34Z',
  region: 'us-west-2',
  resources: [],
  detail: {
    result: 'SUCCESS',
    'repository-name': 'my-repository-name',
    'image-digest': 'sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234',
    'action-type': 'PUSH',
    'image-tag': 'latest',
  },
};

/** An `ECR Image Action` of the tests' account in us-east-1 carrying `detail`; `envelope` overrides the rest. */
export function ecrImageAction(detail: Record<string, unknown>, envelope: Record<string, unknown> = {}) {
  return {
    version: '0',
    id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
    'detail-type': 'ECR Image Action',
    source: 'aws.ecr',
    account: ACCOUNT,
    time: '2026-01-01T00:00:00Z',
    region: 'us-east-1',
    resources: [],
    detail,
    ...envelope,
  };
}
