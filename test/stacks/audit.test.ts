import { CACHE_REFRESH_MS } from '@nvcf-ecr/core/audit';
import { FUNCTIONS, RULE_NAMES, reportBucketName } from '@nvcf-ecr/core/events';
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { ACCOUNT } from './configs.ts';
import { findResource, resourcesOfType, STAGE, synth } from './synth.ts';

// Audit: the scheduled audit function and its report bucket.

const multi = await synth('multi');

const bucketOf = (s: typeof multi) => {
  const buckets = resourcesOfType(s.json.Audit, 'AWS::S3::Bucket');
  expect(buckets).toHaveLength(1);
  return buckets[0] as (typeof buckets)[number];
};

describe('Stack: Audit', () => {
  it('creates the report bucket encrypted, private, owner-enforced and kept on removal', () => {
    const [, bucket] = bucketOf(multi);
    expect(bucket.Properties).toMatchObject({
      BucketName: reportBucketName(ACCOUNT, 'us-east-1', STAGE),
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
    });
    expect(bucket.DeletionPolicy).toBe('RetainExceptOnCreate');
  });

  it('refuses every request that does not use TLS', () => {
    const [bucketId] = bucketOf(multi);
    multi.templates.Audit.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: bucketId },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 's3:*',
            Principal: { AWS: '*' },
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  it('expires reports after the configured retention', () => {
    const [, bucket] = bucketOf(multi);
    expect((bucket.Properties['LifecycleConfiguration'] as { Rules: unknown[] }).Rules).toContainEqual(
      expect.objectContaining({ Prefix: 'reports/', ExpirationInDays: 30, Status: 'Enabled' }),
    );
    expect(multi.config.audit.reportRetentionDays).toBe(30);
  });

  it('expires resolution-cache objects no run has rewritten for 30 days (runs rewrite theirs weekly)', () => {
    const [, bucket] = bucketOf(multi);
    expect((bucket.Properties['LifecycleConfiguration'] as { Rules: unknown[] }).Rules).toContainEqual(
      expect.objectContaining({ Prefix: 'cache/', ExpirationInDays: 30, Status: 'Enabled' }),
    );
    expect(CACHE_REFRESH_MS).toBeLessThan(30 * 86_400_000);
  });

  it('runs the audit on the configured schedule, one run at a time, telling it the bucket', () => {
    const [bucketId] = bucketOf(multi);
    const [fnId, fn] = findResource(multi.json.Audit, 'AWS::Lambda::Function', {
      FunctionName: `${STAGE}-${FUNCTIONS.audit.name}`,
    });
    const [, rule] = findResource(multi.json.Audit, 'AWS::Events::Rule', {
      Name: `${STAGE}-${RULE_NAMES.auditSchedule}`,
    });
    expect(rule.Properties['ScheduleExpression']).toBe('cron(0 6 * * ? *)');
    expect(rule.Properties['Targets']).toEqual([
      expect.objectContaining({ Arn: { 'Fn::GetAtt': [fnId, 'Arn'] } }),
    ]);
    expect(fn.Properties['ReservedConcurrentExecutions']).toBe(1);
    expect(
      (fn.Properties['Environment'] as { Variables: Record<string, unknown> }).Variables[
        'NVCF_ECR_REPORT_BUCKET'
      ],
    ).toEqual({
      Ref: bucketId,
    });
  });

  it('sends a failed audit to the project bus after one retry, so it is notified', () => {
    const [fnId] = findResource(multi.json.Audit, 'AWS::Lambda::Function', {
      FunctionName: `${STAGE}-${FUNCTIONS.audit.name}`,
    });
    const [, config] = findResource(multi.json.Audit, 'AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: fnId },
    });
    expect(config.Properties['MaximumRetryAttempts']).toBe(1);
    expect(config.Properties['DestinationConfig']).toEqual({
      OnFailure: {
        Destination: { 'Fn::ImportValue': expect.stringContaining('Validation:ExportsOutputFnGetAttBus') },
      },
    });
  });
});
