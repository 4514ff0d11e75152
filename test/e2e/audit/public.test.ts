import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { PutUserPolicyCommand } from '@aws-sdk/client-iam';
import { assertConfig, type Config } from '@nvcf-ecr/core/config';
import { publicRepositoryArn } from '@nvcf-ecr/core/ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { control } from '../../helpers/sandbox.ts';
import {
  type AuditRun,
  type AuditSandbox,
  findingOn,
  fixture,
  invokeAudit,
  startAuditSandbox,
} from './helpers.ts';

/**
 * An ECR Public registry next to a private one: the IAM, secret and NVCF checks apply with ECR Public's pull
 * policy; image checks read what ECR Public's API offers (`DescribeImages`: whether an image a function names
 * exists) and report `info` where it offers nothing (platforms and index children: ECR Public has no
 * BatchGetImage: https://docs.aws.amazon.com/AmazonECRPublic/latest/APIReference/Welcome.html).
 */

const ACCOUNT = '123456789012';
const ALIAS = `sandbox-${ACCOUNT}`;
const config: Config = assertConfig({
  ngc: { apiKeySecretName: 'nvcf-ecr/ngc-api-key' },
  registries: [
    {
      name: 'prod',
      hostname: `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com`,
      repositories: ['inference'],
      credentialName: 'ecr-prod',
    },
    {
      name: 'public',
      hostname: 'public.ecr.aws',
      accountId: ACCOUNT,
      publicAlias: ALIAS,
      repositories: ['tools'],
      credentialName: 'ecr-public',
    },
  ],
});
const PUBLIC_USER = `arn:aws:iam::${ACCOUNT}:user/nvcf-ecr-public`;
const REPO = `public.ecr.aws/${ALIAS}/tools`;

let s: AuditSandbox;
let run: AuditRun;
const deployed = { id: randomUUID(), versionId: randomUUID() };

beforeAll(async () => {
  s = await startAuditSandbox(config);
  const blob = (d: string) =>
    readFileSync(new URL(`../../fixtures/images/blobs/${d.replace(':', '/')}`, import.meta.url));
  const manifest = blob(fixture('amd64-oci').digest).toString('utf8');
  const parsed = JSON.parse(manifest) as { config: { digest: string }; layers: { digest: string }[] };
  await control(s.sb, 'POST', 'seed', {
    'ecr-public': {
      images: [
        {
          repository: 'tools',
          manifest,
          tags: ['v1'],
          blobs: [parsed.config, ...parsed.layers].map((d) => blob(d.digest).toString('base64')),
        },
      ],
    },
  });
  await control(s.sb, 'POST', 'seed', {
    nvcf: {
      functions: [
        { ...deployed, name: 'public-tool', containerImage: `${REPO}:v1`, status: 'ACTIVE' },
        {
          id: randomUUID(),
          versionId: randomUUID(),
          name: 'gone-tool',
          containerImage: `${REPO}:v9`,
          status: 'INACTIVE',
        },
      ],
      deployments: [
        {
          functionId: deployed.id,
          functionVersionId: deployed.versionId,
          deploymentSpecifications: [
            { gpu: 'GB200', instanceType: 'AWS.GPU.GB200_4x.x2', minInstances: 1, maxInstances: 1 },
          ],
        },
      ],
    },
  });
  // More than ECR Public's pull policy: DescribeImages on every public repository, not just the configured one.
  await s.aws.iam.send(
    new PutUserPolicyCommand({
      UserName: 'nvcf-ecr-public',
      PolicyName: 'private-reads',
      PolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 'ecr-public:DescribeImages', Resource: '*' }],
      }),
    }),
  );
  run = await invokeAudit(s);
});
afterAll(async () => {
  await s?.sb.close();
});

describe('Audit: an ECR Public registry', () => {
  it('judges the pull user against the ECR Public pull policy', () => {
    const f = findingOn(run.report, 'iam.pull-policy-least-privilege', PUBLIC_USER);
    expect(f).toMatchObject({ status: 'fail', severity: 'high', registry: 'public' });
    expect(f.message).toContain(
      `ecr-public:DescribeImages on ${publicRepositoryArn(ACCOUNT, 'nvcf-ecr-audit-probe/not-configured')}`,
    );
    expect(f.evidence['missing']).toEqual([]);
  });

  it('runs the secret and NVCF checks for it', () => {
    expect(
      findingOn(run.report, 'nvcf.credential-present', 'nvcf:registry-credential/public.ecr.aws/ecr-public')
        .status,
    ).toBe('pass');
    expect(
      findingOn(run.report, 'nvcf.credential-current', 'nvcf:registry-credential/public.ecr.aws/ecr-public')
        .status,
    ).toBe('pass');
    expect(findingOn(run.report, 'iam.key-matches-secret', PUBLIC_USER).status).toBe('pass');
    const rotation = run.report.findings.filter(
      (f) => f.checkId === 'secret.rotation-enabled' && f.registry === 'public',
    );
    expect(rotation).toEqual([expect.objectContaining({ status: 'pass' })]);
  });

  it('reports platforms and index children as info, with the reason, since ECR Public has no manifest API', () => {
    for (const id of ['image.platforms', 'image.index-children-present']) {
      const f = findingOn(run.report, id, REPO);
      expect(f).toMatchObject({ status: 'fail', severity: 'info' });
      expect(f.message).toContain('ECR Public has no manifest API');
    }
    expect(findingOn(run.report, 'image.platforms', REPO).message).toContain('Not verified: 1 tagged image');
  });

  it('checks with DescribeImages that the images functions name exist', () => {
    const missing = findingOn(run.report, 'image.function-image-present', `${REPO}:v9`);
    expect(missing).toMatchObject({ status: 'fail', severity: 'critical' });
    expect(
      run.report.findings.some(
        (f) => f.checkId === 'image.function-image-present' && f.resource === `${REPO}:v1`,
      ),
    ).toBe(false);
  });

  it('reports the architecture of a deployed function on ECR Public as info', () => {
    const f = findingOn(
      run.report,
      'image.function-architecture',
      `nvcf:function/${deployed.id}/version/${deployed.versionId}`,
    );
    expect(f).toMatchObject({ status: 'fail', severity: 'info' });
    expect(f.message).toContain('needs linux/arm64');
  });

  it('keeps informational findings out of the failures that notify', () => {
    const info = run.report.findings.filter((f) => f.status === 'fail' && f.severity === 'info').length;
    expect(info).toBe(3);
    expect(run.report.summary.informational).toBe(info);
    expect(run.report.summary.failed).toBe(run.report.summary.byStatus.fail - info);
  });
});
