import { readFileSync } from 'node:fs';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { AuditReport, Finding } from '@nvcf-ecr/core/audit';
import type { Config } from '@nvcf-ecr/core/config';
import { FUNCTIONS, functionArn } from '@nvcf-ecr/core/events';
import { createLogger, type LogRecord, memorySink } from '@nvcf-ecr/core/log';
import { type RunningSandbox, startSandbox } from '@nvcf-ecr/sandbox';
import { expect } from 'vitest';
import { sandboxHandlers } from '../../../packages/cli/src/compose.ts';
import { clients, control } from '../../helpers/sandbox.ts';

/**
 * The audit's end-to-end harness: the sandbox with the handlers the CLI composes (rotation for the
 * bootstrap key and the NVCF credential, the audit itself), images pushed from the real fixtures of
 * `test/fixtures/images`, the audit invoked as the schedule invokes it, and the proof that nothing secret left
 * the process (logs, events, reports).
 */

export interface AuditSandbox {
  readonly sb: RunningSandbox;
  readonly aws: ReturnType<typeof clients>;
  readonly logs: LogRecord[];
}

/** Starts the sandbox as `nvcf-ecr sandbox` would, with the rotation and audit handlers, and waits for the bootstrap rotation. */
export async function startAuditSandbox(config: Config): Promise<AuditSandbox> {
  const sink = memorySink();
  const all = sandboxHandlers();
  expect(all.rotateCredential, 'functions/index.ts registers the rotation handler').toBeDefined();
  expect(all.audit, 'functions/index.ts registers the audit handler').toBeDefined();
  const sb = await startSandbox({
    config,
    handlers: { rotateCredential: all.rotateCredential, audit: all.audit },
    logger: createLogger({ sink, level: 'debug' }),
  });
  await sb.settle(60_000);
  return { sb, aws: clients(sb), logs: sink.records };
}

/** Back to the provisioned state (the runtime provisions again and rotates once, as a fresh deployment). */
export async function resetSandbox(s: AuditSandbox): Promise<void> {
  await control(s.sb, 'POST', 'reset');
  await s.sb.settle(60_000);
}

export interface AuditRun {
  readonly report: AuditReport;
  readonly result: {
    summary: AuditReport['summary'];
    reports: { bucket: string; json: string; markdown: string; html: string };
    eventId: string;
  };
}

/** Invokes the deployed audit function with `event` (a manual invocation by default) and reads its JSON report from S3. */
export async function invokeAudit(s: AuditSandbox, event: unknown = {}): Promise<AuditRun> {
  const arn = functionArn('aws', s.sb.region, s.sb.accountId, FUNCTIONS.audit.name);
  const result = (await s.sb.lambda.invoke(arn, event)) as AuditRun['result'];
  const report = JSON.parse(await readObject(s, result.reports.bucket, result.reports.json)) as AuditReport;
  return { report, result };
}

export async function readObject(s: AuditSandbox, bucket: string, key: string): Promise<string> {
  const out = await s.aws.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return (await out.Body?.transformToString()) ?? '';
}

/** The findings of one check. */
export function findingsOf(report: AuditReport, checkId: string): Finding[] {
  return report.findings.filter((f) => f.checkId === checkId);
}

/** The one finding of `checkId` on `resource`; fails the test when there is not exactly one. */
export function findingOn(report: AuditReport, checkId: string, resource: string): Finding {
  const found = report.findings.filter((f) => f.checkId === checkId && f.resource === resource);
  expect(
    found,
    `${checkId} on ${resource}; the report has: ${findingsOf(report, checkId)
      .map((f) => `${f.status} ${f.resource}`)
      .join(' | ')}`,
  ).toHaveLength(1);
  return found[0] as Finding;
}

// ---- images ----------------------------------------------------------------------------------------------

const LAYOUT = new URL('../../fixtures/images/', import.meta.url);

interface Descriptor {
  mediaType: string;
  digest: string;
  annotations?: Record<string, string>;
}

function blob(digest: string): Buffer {
  return readFileSync(new URL(`blobs/${digest.replace(':', '/')}`, LAYOUT));
}

/** The fixture layout's descriptor of a ref (`amd64-oci`, `multi-oci`, ...). */
export function fixture(ref: string): Descriptor {
  const index = JSON.parse(readFileSync(new URL('index.json', LAYOUT), 'utf8')) as {
    manifests: Descriptor[];
  };
  const d = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === ref);
  if (!d) throw new Error(`no fixture image '${ref}' in test/fixtures/images`);
  return d;
}

interface SeedImage {
  repository: string;
  manifest: string;
  tags: string[];
  blobs: string[];
}

/** The seed entries of an image and its children (children first, untagged), with every blob they need. */
function seedEntries(repository: string, digest: string, tags: string[]): SeedImage[] {
  const text = blob(digest).toString('utf8');
  const manifest = JSON.parse(text) as {
    manifests?: Descriptor[];
    config?: Descriptor;
    layers?: Descriptor[];
  };
  const children = (manifest.manifests ?? []).flatMap((m) => seedEntries(repository, m.digest, []));
  const blobs = [manifest.config, ...(manifest.layers ?? [])]
    .filter((d): d is Descriptor => d !== undefined)
    .map((d) => blob(d.digest).toString('base64'));
  return [...children, { repository, manifest: text, tags, blobs }];
}

/** Pushes fixture image `ref` to `repository` under `tags` (with its children and blobs) through the control plane. */
export async function pushFixture(
  s: AuditSandbox,
  repository: string,
  ref: string,
  tags: string[],
): Promise<string> {
  const { digest } = fixture(ref);
  await control(s.sb, 'POST', 'seed', { ecr: { images: seedEntries(repository, digest, tags) } });
  return digest;
}

/** The digests of an index's children, in index order. */
export function childrenOf(ref: string): string[] {
  const manifest = JSON.parse(blob(fixture(ref).digest).toString('utf8')) as { manifests: Descriptor[] };
  return manifest.manifests.map((m) => m.digest);
}

// ---- secrets ---------------------------------------------------------------------------------------------

interface SandboxState {
  iam: { users: { keys: { accessKeyId: string; secretAccessKey: string }[] }[] };
  secretsmanager: { secrets: { versions: { secretString?: string }[] }[] };
}

/**
 * Every secret the sandbox issued — each access key's secret and NVCF's base64 `id:secret` form of it, the
 * NGC API key, the sandbox's admin secret, and the secret access keys inside secret values — for
 * {@link expectNoSecrets}.
 */
export async function issuedSecrets(s: AuditSandbox): Promise<string[]> {
  const state = await control<SandboxState>(s.sb, 'GET', 'state');
  const out = new Set<string>([s.sb.ngcApiKey, s.sb.secretAccessKey]);
  for (const user of state.iam.users) {
    for (const k of user.keys) {
      out.add(k.secretAccessKey);
      out.add(Buffer.from(`${k.accessKeyId}:${k.secretAccessKey}`).toString('base64'));
    }
  }
  for (const secret of state.secretsmanager.secrets) {
    for (const v of secret.versions) {
      const key = v.secretString?.match(/"secretAccessKey":"([^"]+)"/)?.[1];
      if (key) out.add(key);
    }
  }
  return [...out].filter((x) => x.length >= 16);
}

/** Asserts that none of `secrets` appears in `text` (named `where` in the failure). */
export function expectNoSecrets(where: string, text: string, secrets: readonly string[]): void {
  for (const secret of secrets) {
    expect(text.includes(secret), `${where} contains a secret (${secret.slice(0, 4)}…)`).toBe(false);
  }
}
