import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadConfig, serializeConfig } from '@nvcf-ecr/core/config';
import {
  DETAIL_TYPES,
  FUNCTIONS,
  type FunctionKey,
  PROJECT_EVENT_BUS_NAME,
  reportBucketName,
} from '@nvcf-ecr/core/events';
import { openOciLayout } from '@nvcf-ecr/core/image';
import { pushImage, startSandbox } from '@nvcf-ecr/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AuditRun,
  invokeAudit,
  pushFixture,
  readObject,
  startAuditSandbox,
} from '../e2e/audit/helpers.ts';
import { clients, control } from '../helpers/sandbox.ts';
import { type CfnTemplate, must } from './synth.ts';

// The contract of `npm run synth -- --out DIR`: one <Stack>.template.json per stack, offline, without AWS
// credentials, with the functions bundled as `sst deploy` bundles them.

const run = promisify(execFile);
const root = new URL('../../', import.meta.url).pathname;
const STACKS = ['Validation', 'Notifications', 'Credentials', 'Audit'];

/** The test's environment without any AWS credential or profile, and nowhere to find one. */
function offlineEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('AWS_') && k !== 'NODE_ENV') env[k] = v;
  return {
    ...env,
    AWS_CONFIG_FILE: '/nonexistent/aws-config',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}

function synthCommand(args: string[]) {
  return run(process.execPath, ['stacks/synth.ts', ...args], {
    cwd: root,
    env: offlineEnv(),
    timeout: 240_000,
  });
}

let dir: string;
let result: { stdout: string; stderr: string };
const templates: Record<string, CfnTemplate> = {};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nvcf-ecr-synth-command-'));
  result = await synthCommand([
    '--out',
    join(dir, 'out'),
    '--stage',
    'ci',
    '--config',
    'nvcf-ecr.config.ts',
    '--assembly',
    join(dir, 'assembly'),
  ]);
  for (const id of STACKS)
    templates[id] = JSON.parse(
      await readFile(join(dir, 'out', `${id}.template.json`), 'utf8'),
    ) as CfnTemplate;
}, 300_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The deployed bundle of a function in the synthesised assembly. */
function deployedBundle(key: FunctionKey): string {
  const fn = Object.values(templates)
    .flatMap((t) => Object.values(t.Resources))
    .find(
      (r) =>
        r.Type === 'AWS::Lambda::Function' && r.Properties['FunctionName'] === `ci-${FUNCTIONS[key].name}`,
    );
  const hash = String(
    (must(fn, `the ${key} function`).Properties['Code'] as { S3Key: string }).S3Key,
  ).replace(/\.zip$/, '');
  return join(dir, 'assembly', `asset.${hash}`, FUNCTIONS[key].entry.replace(/\.ts$/, '.mjs'));
}

describe('Command: npm run synth', () => {
  it('is what package.json runs', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(pkg.scripts['synth']).toBe('node stacks/synth.ts');
  });

  it('writes one template per stack without AWS credentials and lists them', () => {
    for (const id of STACKS) {
      expect(result.stdout).toContain(`${id}.template.json`);
      expect(templates[id]?.Resources).toEqual(expect.any(Object));
    }
    expect(result.stdout).toContain("stage 'ci' for account 123456789012 in us-east-1");
  });

  it('bundles every function as minified ESM for its handler, with only the SDK commands it imports', async () => {
    const keys = Object.keys(FUNCTIONS) as FunctionKey[];
    for (const key of keys) {
      const entry = FUNCTIONS[key].entry;
      const fn = Object.values(templates)
        .flatMap((t) => Object.values(t.Resources))
        .find(
          (r) =>
            r.Type === 'AWS::Lambda::Function' &&
            r.Properties['FunctionName'] === `ci-${FUNCTIONS[key].name}`,
        );
      const props = must(fn, `the ${key} function`).Properties;
      expect(props['Handler']).toBe(entry.replace(/\.ts$/, '.handler'));
      const hash = String((props['Code'] as { S3Key: string }).S3Key).replace(/\.zip$/, '');
      const bundle = join(dir, 'assembly', `asset.${hash}`, entry.replace(/\.ts$/, '.mjs'));
      expect(existsSync(bundle), bundle).toBe(true);
      const code = await readFile(bundle, 'utf8');
      expect(code).toMatch(/^import /m);
      // Minified: thousands of characters per line on average (only template literals keep their newlines).
      expect(code.length / code.split('\n').length).toBeGreaterThan(1000);
      // Tree-shaken: ECR's write commands are in the client package, and no handler imports them.
      expect(code).not.toContain('PutImageCommand');
      expect(code).not.toContain('DeleteRepositoryCommand');
      // Credentials come from the environment Lambda sets (functions/lib/lambda-credentials.ts): the SDK's
      // workstation chain (SSO, credential processes, web identity) is not bundled.
      expect(code).toContain('AWS_SECRET_ACCESS_KEY');
      for (const workstationOnly of ['sso_start_url', 'credential_process', 'AWS_WEB_IDENTITY_TOKEN_FILE']) {
        expect(code).not.toContain(workstationOnly);
      }
    }
  });

  it('runs as deployed: the validation bundle signs with the credentials Lambda puts in the environment', async () => {
    // The bundle replaces the SDK's credential chain with the environment provider; prove it still signs by
    // running the deployed file in a fresh Node process against the sandbox, configured only through the
    // environment Lambda and the stack give it (AWS_ENDPOINT_URL stands in for the real endpoint).
    const config = await loadConfig(join(root, 'nvcf-ecr.config.ts'));
    const sb = await startSandbox({ config });
    try {
      await sb.settle();
      const layout = await openOciLayout(join(root, 'test/fixtures/images'));
      let digest: string;
      try {
        digest = (
          await pushImage(clients(sb).ecr, layout, 'multi-oci', {
            repositoryName: 'inference',
            tag: 'bundle',
          })
        ).digest;
      } finally {
        await layout.close();
      }
      const fn = Object.values(templates)
        .flatMap((t) => Object.values(t.Resources))
        .find(
          (r) =>
            r.Type === 'AWS::Lambda::Function' &&
            r.Properties['FunctionName'] === `ci-${FUNCTIONS.validatePush.name}`,
        );
      const hash = String(
        (must(fn, 'the validation function').Properties['Code'] as { S3Key: string }).S3Key,
      ).replace(/\.zip$/, '');
      const bundle = join(
        dir,
        'assembly',
        `asset.${hash}`,
        FUNCTIONS.validatePush.entry.replace(/\.ts$/, '.mjs'),
      );
      const event = {
        version: '0',
        id: 'bundle-test',
        'detail-type': 'ECR Image Action',
        source: 'aws.ecr',
        account: sb.accountId,
        time: new Date().toISOString(),
        region: sb.region,
        resources: [],
        detail: {
          result: 'SUCCESS',
          'repository-name': 'inference',
          'image-digest': digest,
          'action-type': 'PUSH',
          'image-tag': 'bundle',
        },
      };
      const script = `const m = await import(${JSON.stringify(bundle)}); console.log(JSON.stringify(await m.handler(${JSON.stringify(event)}, {})));`;
      const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
        env: {
          ...offlineEnv(),
          AWS_REGION: sb.region,
          AWS_ENDPOINT_URL: sb.awsEndpoint,
          AWS_ACCESS_KEY_ID: sb.accessKeyId,
          AWS_SECRET_ACCESS_KEY: sb.secretAccessKey,
          AWS_LAMBDA_FUNCTION_NAME: `ci-${FUNCTIONS.validatePush.name}`,
          NVCF_ECR_CONFIG: serializeConfig(config),
          NVCF_ECR_EVENT_BUS: PROJECT_EVENT_BUS_NAME,
        },
        timeout: 60_000,
      });
      const outcome = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as {
        skipped: boolean;
        detail?: { verdict: string };
      };
      expect(outcome).toMatchObject({ skipped: false, detail: { verdict: 'compliant' } });
      const { events } = await control<{
        events: { event: { 'detail-type': string; detail: { tag: string } } }[];
      }>(sb, 'GET', `events?detailType=${encodeURIComponent(DETAIL_TYPES.imageValidation)}`);
      expect(events.map((e) => e.event.detail.tag)).toContain('bundle');
    } finally {
      await sb.close();
    }
  });

  it('runs as deployed: the audit bundle audits the sandbox as the handler built from the sources does', async () => {
    // The audit's bundle holds the most SDK clients (IAM's query protocol, S3's XML with a NoSuchKey from the
    // empty resolution cache, the JSON services) as stacks/lib/bundling.ts trims them: run it in a fresh Node
    // process, configured as Lambda configures it, then the audit composed from the sources (which reads the
    // resolution cache the bundle wrote), and compare.
    const config = await loadConfig(join(root, 'nvcf-ecr.config.ts'));
    const s = await startAuditSandbox(config);
    try {
      const registry = must(config.registries[0], 'a registry in the example configuration');
      await pushFixture(s, must(registry.repositories[0], 'a repository'), 'multi-oci', ['bundle']);
      // The bucket the sandbox provisions, as the stack's environment names it.
      const bucket = reportBucketName(s.sb.accountId, s.sb.region);
      const script = `const m = await import(${JSON.stringify(deployedBundle('audit'))}); console.log(JSON.stringify(await m.handler({}, { getRemainingTimeInMillis: () => 600000 })));`;
      const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
        env: {
          ...offlineEnv(),
          AWS_REGION: s.sb.region,
          AWS_ENDPOINT_URL: s.sb.awsEndpoint,
          AWS_ACCESS_KEY_ID: s.sb.accessKeyId,
          AWS_SECRET_ACCESS_KEY: s.sb.secretAccessKey,
          AWS_LAMBDA_FUNCTION_NAME: `ci-${FUNCTIONS.audit.name}`,
          NVCF_ECR_CONFIG: serializeConfig({ ...config, ngc: { ...config.ngc, baseUrl: s.sb.nvcfEndpoint } }),
          NVCF_ECR_EVENT_BUS: PROJECT_EVENT_BUS_NAME,
          NVCF_ECR_REPORT_BUCKET: bucket,
        },
        timeout: 120_000,
      });
      const deployed = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as AuditRun['result'];
      const report = JSON.parse(await readObject(s, bucket, deployed.reports.json)) as AuditRun['report'];
      const fromSources = await invokeAudit(s);
      expect(fromSources.result.reports.bucket).toBe(bucket);
      const verdicts = (r: AuditRun['report']) =>
        r.findings.map((f) => `${f.checkId} ${f.status} ${f.resource}`).sort();
      expect(verdicts(report).length).toBeGreaterThan(0);
      expect(verdicts(report)).toEqual(verdicts(fromSources.report));
      expect(deployed.summary).toEqual(fromSources.result.summary);
      for (const key of [deployed.reports.markdown, deployed.reports.html])
        expect((await readObject(s, bucket, key)).length).toBeGreaterThan(0);
      const { events } = await control<{ events: { event: { id: string } }[] }>(
        s.sb,
        'GET',
        `events?detailType=${encodeURIComponent(DETAIL_TYPES.complianceAudit)}`,
      );
      expect(events.map((e) => e.event.id)).toContain(deployed.eventId);
    } finally {
      await s.sb.close();
    }
  }, 180_000);

  it('synthesises the same stacks from a --config file of each kind: .ts (above), .mjs and .json', async () => {
    // The example configuration written the two other ways: every template must come out identical to the
    // run from the repository's own nvcf-ecr.config.ts (names, schedules, policies, bundles).
    const example = (await import('../../nvcf-ecr.config.ts')).default;
    const files = { mjs: join(dir, 'same.config.mjs'), json: join(dir, 'same.config.json') };
    await writeFile(files.mjs, `export default ${JSON.stringify(example, null, 2)};\n`);
    await writeFile(files.json, JSON.stringify(example, null, 2));
    const runs = await Promise.all(
      Object.entries(files).map(async ([kind, file]) => {
        const out = join(dir, `config-${kind}`);
        const { stdout } = await synthCommand(['--out', out, '--stage', 'ci', '--config', file]);
        const read = async (id: string) =>
          JSON.parse(await readFile(join(out, `${id}.template.json`), 'utf8'));
        return { kind, stdout, templates: await Promise.all(STACKS.map(read)) };
      }),
    );
    for (const { kind, stdout, templates: got } of runs) {
      expect(stdout, kind).toContain("Synthesised stage 'ci' for account 123456789012 in us-east-1");
      expect({ kind, templates: got }).toEqual({ kind, templates: STACKS.map((id) => templates[id]) });
    }
  }, 300_000);

  it('fails with usage and exit code 2 without --out', async () => {
    const error = await synthCommand([]).then(
      () => undefined,
      (e: unknown) => e as { code: number; stderr: string },
    );
    expect(error?.code).toBe(2);
    expect(error?.stderr).toContain('--out DIR is required');
    expect(error?.stderr).toContain('usage: npm run synth -- --out DIR');
  });

  it('fails with exit code 1 naming the file when --config does not exist', async () => {
    const error = await synthCommand([
      '--out',
      join(dir, 'never'),
      '--config',
      join(dir, 'missing.config.ts'),
    ]).then(
      () => undefined,
      (e: unknown) => e as { code: number; stderr: string },
    );
    expect(error?.code).toBe(1);
    expect(error?.stderr).toContain(`file not found: ${join(dir, 'missing.config.ts')}`);
    expect(existsSync(join(dir, 'never'))).toBe(false);
  });
});
