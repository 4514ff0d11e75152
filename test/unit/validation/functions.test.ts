import { createLogger, memorySink } from '@nvcf-ecr/core/log';
import type { NvcfDeploymentView, NvcfFunctionView } from '@nvcf-ecr/core/ports';
import {
  FUNCTION_CATALOG_TTL_MS,
  FunctionCatalogCache,
  type ImageValidationDetail,
  imageValidationDetailSchema,
  type NvcfFunctionsPort,
  type ValidatePushDeps,
  validatePush,
} from '@nvcf-ecr/core/validation';
import { describe, expect, it } from 'vitest';
import { AMD64, ARM64, entry } from '../image/helpers.ts';
import { FakeEcr, FakeEvents, HOSTNAME, metricsCollector, pushEvent, testConfig } from './fakes.ts';

// Function-aware push validation: the platforms of the NVCF deployments that run the pushed `repository:tag`
// are required too; NVCF down or the NGC key missing leaves the repository's verdict, marked `skipped`.

/** NVCF's function list and deployments, recording the calls; `down` makes every call fail as the client does. */
class FakeNvcf implements NvcfFunctionsPort {
  public readonly functions: NvcfFunctionView[] = [];
  public readonly deployments = new Map<string, NvcfDeploymentView>();
  public readonly calls: string[] = [];
  public down: Error | undefined;

  public async listFunctions(visibility?: 'private'): Promise<readonly NvcfFunctionView[]> {
    this.calls.push(`listFunctions ${visibility}`);
    if (this.down) throw this.down;
    return [...this.functions];
  }

  public async getDeployment(functionId: string, versionId: string): Promise<NvcfDeploymentView | undefined> {
    this.calls.push(`getDeployment ${functionId}/${versionId}`);
    if (this.down) throw this.down;
    return this.deployments.get(`${functionId}/${versionId}`);
  }

  /** A function version running `image`, deployed on `gpu` (`instanceType`) unless `gpu` is undefined. */
  public add(name: string, image: string, gpu?: { gpu: string; instanceType: string; cpuArch?: string }) {
    const fn = {
      id: `${name}-id`,
      versionId: `${name}-version`,
      name,
      status: gpu ? 'ACTIVE' : 'INACTIVE',
      containerImage: image,
    };
    this.functions.push(fn);
    if (gpu)
      this.deployments.set(`${fn.id}/${fn.versionId}`, {
        functionId: fn.id,
        functionVersionId: fn.versionId,
        deploymentId: `${name}-deployment`,
        functionStatus: 'ACTIVE',
        deploymentSpecifications: [gpu],
      });
    return fn;
  }
}

const GB200 = { gpu: 'GB200', instanceType: 'AWS.GPU.GB200_4x.x2' };
const H100 = { gpu: 'H100', instanceType: 'AWS.GPU.H100_1x' };

function harness() {
  const ecr = new FakeEcr();
  const events = new FakeEvents();
  const nvcf = new FakeNvcf();
  const logs = memorySink();
  let nowMs = Date.parse('2026-01-02T03:04:05Z');
  const deps: ValidatePushDeps = {
    config: testConfig(),
    ecr: () => ecr,
    events,
    eventBusName: 'nvcf-ecr-autopilot',
    fetch: ecr.fetch,
    logger: createLogger({ sink: logs, level: 'debug' }),
    metrics: metricsCollector(),
    now: () => new Date(nowMs),
    nvcf,
    functionCache: new FunctionCatalogCache(),
  };
  /** Pushes an image already in the fake repository under `inference:<tag>` and returns its verdict. */
  const verdict = async (digest: string, tag = 'v1'): Promise<ImageValidationDetail> => {
    ecr.tags.set(tag, digest);
    const outcome = await validatePush(pushEvent('inference', digest, tag), deps);
    if (outcome.skipped) throw new Error(`expected a verdict, got a skip: ${outcome.reason}`);
    expect(imageValidationDetailSchema.safeParse(outcome.detail).success).toBe(true);
    return outcome.detail;
  };
  const advance = (ms: number) => {
    nowMs += ms;
  };
  return { ecr, events, nvcf, logs, deps, verdict, advance };
}

describe('Function-aware validation', () => {
  it('judges an amd64-only push to a tag a GB200 function deploys non-compliant, naming the function', async () => {
    const h = harness();
    const fn = h.nvcf.add('llm-gb200', `${HOSTNAME}/inference:v1`, GB200);
    const image = h.ecr.repo.image(AMD64);
    const detail = await h.verdict(image.digest);
    // The repository's policy asks for linux/amd64 only: the function's GB200 deployment adds linux/arm64.
    expect(detail).toMatchObject({
      verdict: 'non-compliant',
      required: ['linux/amd64', 'linux/arm64'],
      missing: ['linux/arm64'],
      functionCheck: 'checked',
      functions: [
        {
          name: 'llm-gb200',
          id: fn.id,
          versionId: fn.versionId,
          status: 'ACTIVE',
          requires: ['linux/arm64'],
        },
      ],
    });
    expect(detail.reasons).toEqual([
      `missing linux/arm64 required by NVCF function llm-gb200 (${fn.id}, version ${fn.versionId}), whose deployment's GB200 (AWS.GPU.GB200_4x.x2) runs on Grace (Arm) CPUs (the image has linux/amd64)`,
      `used by NVCF function llm-gb200 (${fn.id}, version ${fn.versionId}, ACTIVE), deployed on linux/arm64`,
    ]);
    expect(h.nvcf.calls).toEqual(['listFunctions private', `getDeployment ${fn.id}/${fn.versionId}`]);
  });

  it('judges a push to a tag no function uses by the repository policy alone', async () => {
    const h = harness();
    h.nvcf.add('llm-gb200', `${HOSTNAME}/inference:v2`, GB200);
    h.nvcf.add('other-repository', `${HOSTNAME}/inference-gb200:v1`, GB200);
    h.nvcf.add('other-registry', `nvcr.io/org/inference:v1`, GB200);
    const detail = await h.verdict(h.ecr.repo.image(AMD64).digest);
    expect(detail).toMatchObject({
      verdict: 'compliant',
      required: ['linux/amd64'],
      missing: [],
      warnings: [],
      functionCheck: 'checked',
      functions: [],
    });
    // Deployments are read only for the versions that run the pushed image.
    expect(h.nvcf.calls).toEqual(['listFunctions private']);
  });

  it('gives the repository verdict, marked skipped with a warning, when NVCF cannot be reached', async () => {
    const h = harness();
    h.nvcf.add('llm-gb200', `${HOSTNAME}/inference:v1`, GB200);
    h.nvcf.down = Object.assign(new Error('GET /v2/nvcf/functions: connect ECONNREFUSED'), {
      name: 'NvcfNetworkError',
    });
    const detail = await h.verdict(h.ecr.repo.image(AMD64).digest);
    expect(detail).toMatchObject({
      verdict: 'compliant',
      required: ['linux/amd64'],
      functionCheck: 'skipped',
    });
    expect(detail.functions).toEqual([]);
    expect(detail.warnings).toEqual([
      'NVCF function check skipped: NVCF could not be read (NvcfNetworkError: GET /v2/nvcf/functions: connect ECONNREFUSED); the verdict follows the repository policy alone (the daily audit checks functions)',
    ]);
    expect(h.events.details().map((d) => d['verdict'])).toEqual(['compliant']);
    // Failing open is never silent: a metric to alarm on, and a warning naming why.
    const metrics = (h.deps.metrics as ReturnType<typeof metricsCollector>).records;
    expect(metrics.filter((m) => m.name === 'FunctionChecksSkipped')).toHaveLength(1);
    const logged = h.logs.records.find((r) => r.message === 'image validated');
    expect(logged).toMatchObject({
      level: 'warn',
      fields: { functionCheck: 'skipped', warnings: detail.warnings },
    });
  });

  it('gives the repository verdict, marked skipped, when the NGC API key is missing', async () => {
    const h = harness();
    h.nvcf.down = Object.assign(new Error("Secrets Manager can't find the specified secret."), {
      name: 'ResourceNotFoundException',
    });
    const detail = await h.verdict(h.ecr.repo.image(AMD64).digest);
    expect(detail.functionCheck).toBe('skipped');
    expect(detail.verdict).toBe('compliant');
    expect(detail.warnings[0]).toContain('ResourceNotFoundException');
  });

  it('lists NVCF once per minute in a warm function, and asks again after a failure', async () => {
    const h = harness();
    const fn = h.nvcf.add('llm-h100', `${HOSTNAME}/inference:v1`, H100);
    const image = h.ecr.repo.image(AMD64);
    await h.verdict(image.digest);
    h.advance(FUNCTION_CATALOG_TTL_MS - 1);
    await h.verdict(image.digest);
    expect(h.nvcf.calls).toHaveLength(2);
    h.advance(1);
    await h.verdict(image.digest);
    expect(h.nvcf.calls).toEqual([
      'listFunctions private',
      `getDeployment ${fn.id}/${fn.versionId}`,
      'listFunctions private',
      `getDeployment ${fn.id}/${fn.versionId}`,
    ]);
    h.advance(FUNCTION_CATALOG_TTL_MS);
    h.nvcf.down = new Error('HTTP 503');
    expect((await h.verdict(image.digest)).functionCheck).toBe('skipped');
    h.nvcf.down = undefined;
    expect((await h.verdict(image.digest)).functionCheck).toBe('checked');
  });

  it('matches a function pinned by digest, names versions not deployed, and warns on an unknown CPU', async () => {
    const h = harness();
    const a = h.ecr.repo.image(AMD64);
    const b = h.ecr.repo.image(ARM64);
    const index = h.ecr.repo.index([entry(a, AMD64), entry(b, ARM64)]);
    const pinned = h.nvcf.add('pinned', `${HOSTNAME}/inference@${index.digest}`, GB200);
    const idle = h.nvcf.add('idle', `${HOSTNAME}/inference:v1`);
    const odd = h.nvcf.add('odd', `${HOSTNAME}/inference:v1`, { gpu: 'X9', instanceType: 'OCI.GPU.X9_1x' });
    // A version pinned to another digest does not pull this push, whatever its tag.
    h.nvcf.add('elsewhere', `${HOSTNAME}/inference:v1@sha256:${'e'.repeat(64)}`, GB200);
    const detail = await h.verdict(index.digest);
    expect(detail.verdict).toBe('compliant');
    expect(detail.functions.map((f) => [f.name, f.requires])).toEqual([
      ['pinned', ['linux/arm64']],
      ['idle', []],
      ['odd', []],
    ]);
    expect(detail.reasons[0]).toBe(
      'provides every required platform (linux/amd64, linux/arm64) for repository inference and the NVCF functions that run it: the image has linux/amd64, linux/arm64',
    );
    expect(detail.reasons).toContain(
      `used by NVCF function idle (${idle.id}, version ${idle.versionId}, INACTIVE), not deployed`,
    );
    expect(detail.reasons).toContain(
      `used by NVCF function odd (${odd.id}, version ${odd.versionId}, ACTIVE), deployed on GPUs of unknown CPU architecture (see the warnings)`,
    );
    expect(detail.warnings).toEqual([
      `NVCF function odd (${odd.id}, version ${odd.versionId}): X9 (OCI.GPU.X9_1x) has no cpuArch and is not a GPU whose CPU architecture is known, so it is not checked`,
    ]);
    expect(pinned.containerImage).toContain('@sha256:');
  });
});
