import { locateFunctionImage, nvcfImageHost, requiredArchitectures } from '@nvcf-ecr/core/audit';
import { describe, expect, it } from 'vitest';
import { HOST, registry } from './fakes.ts';

const fn = (containerImage?: string) => ({
  id: 'f1',
  versionId: 'v1',
  name: 'fn',
  status: 'ACTIVE',
  containerImage,
});
const DIGEST = `sha256:${'ab'.repeat(32)}`;

describe('Function: nvcfImageHost', () => {
  it('derives the host as NVCF does: scheme and port dropped, case kept (`RegistryCredentialFunctionService.getRegistryHostname`)', () => {
    expect(nvcfImageHost(`${HOST}/inference:v1`)).toBe(HOST);
    expect(nvcfImageHost(`${HOST}:443/inference:v1`)).toBe(HOST);
    expect(nvcfImageHost(`https://${HOST}/inference`)).toBe(HOST);
    expect(nvcfImageHost(`oci://${HOST}/charts/app`)).toBe(HOST);
    expect(nvcfImageHost('123456789012.DKR.ECR.us-east-1.amazonaws.com/inference:v1')).toBe(
      '123456789012.DKR.ECR.us-east-1.amazonaws.com',
    );
    expect(nvcfImageHost('')).toBeUndefined();
  });
});

describe('Function: locateFunctionImage', () => {
  it('locates a tag, a digest, and the implicit latest in a configured repository', () => {
    expect(locateFunctionImage(fn(`${HOST}/inference:v1`), [registry])).toMatchObject({
      repository: 'inference',
      tag: 'v1',
      digest: undefined,
    });
    expect(locateFunctionImage(fn(`${HOST}/inference@${DIGEST}`), [registry])).toMatchObject({
      tag: undefined,
      digest: DIGEST,
    });
    expect(locateFunctionImage(fn(`${HOST}/inference`), [registry])).toMatchObject({ tag: 'latest' });
    expect(locateFunctionImage(fn(`${HOST}/inference:v1`), [registry])?.problem).toBeUndefined();
  });

  it('ignores images of other registries and hosts that differ in case (NVCF matches hosts exactly)', () => {
    expect(locateFunctionImage(fn('nvcr.io/nvidia/app:1'), [registry])).toBeUndefined();
    expect(locateFunctionImage(fn(`${HOST.toUpperCase()}/inference:v1`), [registry])).toBeUndefined();
    expect(locateFunctionImage(fn(undefined), [registry])).toBeUndefined();
  });

  it('names a repository the pull user may not pull as a problem', () => {
    expect(locateFunctionImage(fn(`${HOST}/secret-app:v1`), [registry])?.problem).toBe(
      "repository 'secret-app' is not configured for registry prod, so the pull user may not pull it",
    );
  });
});

describe('Function: requiredArchitectures', () => {
  const deployment = (...specs: { gpu: string; instanceType: string; cpuArch?: string }[]) => ({
    functionId: 'f',
    functionVersionId: 'v',
    deploymentId: 'd',
    functionStatus: 'ACTIVE',
    deploymentSpecifications: specs,
  });

  it('needs arm64 for Grace GPUs and amd64 for the others, once each', () => {
    expect(
      requiredArchitectures(
        deployment(
          { gpu: 'GB200', instanceType: 'AWS.GPU.GB200_4x.x2' },
          { gpu: 'L40', instanceType: 'gl40_1.br20_2xlarge' },
          { gpu: 'H100', instanceType: 'OCI.GPU.H100_1x' },
        ),
      ).map((n) => n.architecture),
    ).toEqual(['arm64', 'amd64']);
    expect(requiredArchitectures(deployment({ gpu: 'GH200', instanceType: 'x' }))[0]?.architecture).toBe(
      'arm64',
    );
  });

  it('prefers the cpuArch NVCF filled in over the GPU name', () => {
    const [need] = requiredArchitectures(
      deployment({ gpu: 'L40', instanceType: 'byoc.arm', cpuArch: 'aarch64' }),
    );
    expect(need).toEqual({ architecture: 'arm64', because: 'L40 (byoc.arm) has cpuArch aarch64' });
  });
});

describe('Function: requiredArchitectures, unknown and look-alike names', () => {
  const spec = (gpu: string, instanceType: string) => ({
    functionId: 'f',
    functionVersionId: 'v',
    deploymentId: 'd',
    functionStatus: 'ACTIVE',
    deploymentSpecifications: [{ gpu, instanceType }],
  });

  it('does not take GB2000-like names for a Grace GPU', () => {
    expect(requiredArchitectures(spec('GB2000', 'x.gpu.gb2000_1x'))[0]?.architecture).toBe('unknown');
    expect(requiredArchitectures(spec('H100', 'OCI.GPU.xgb2001'))[0]?.architecture).toBe('amd64');
    expect(requiredArchitectures(spec('GB200', 'DGX-GB200.1x'))[0]?.architecture).toBe('arm64');
    expect(requiredArchitectures(spec('X1', 'AWS.GPU.GB300_4x'))[0]?.architecture).toBe('arm64');
  });

  it('calls a GPU it does not know, without cpuArch, unknown rather than amd64', () => {
    expect(requiredArchitectures(spec('RTX-9000', 'some.gpu'))).toEqual([
      {
        architecture: 'unknown',
        because: 'RTX-9000 (some.gpu) has no cpuArch and is not a GPU whose CPU architecture is known',
      },
    ]);
    for (const gpu of ['L40S', 'A10G', 'A100', 'T4', 'B200', 'H200'])
      expect(requiredArchitectures(spec(gpu, 'x'))[0]?.architecture).toBe('amd64');
  });
});
