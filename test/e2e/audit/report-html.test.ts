import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CreateAccessKeyCommand } from '@aws-sdk/client-iam';
import { SEVERITIES } from '@nvcf-ecr/core/audit';
import { type Config, loadConfig } from '@nvcf-ecr/core/config';
import { type BrowserContext, chromium, type Locator } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { control } from '../../helpers/sandbox.ts';
import {
  type AuditRun,
  type AuditSandbox,
  invokeAudit,
  pushFixture,
  readObject,
  startAuditSandbox,
} from './helpers.ts';

/**
 * The HTML report as a security reviewer sees it: rendered by headless Chromium (Debian `chromium`, which
 * `.ci/run` installs) from a real audit of the sandbox with failures of several severities, one of them about
 * a resource named `<script>…</script>`. The assertions read the rendered page, not the markup.
 */

const CHROMIUM = '/usr/bin/chromium';
const HOSTILE = '<script>alert("pwned")</script>';

const config: Config = await loadConfig('nvcf-ecr.config.ts');
const HOST = (config.registries[0] as Config['registries'][number]).hostname;

let s: AuditSandbox;
let run: AuditRun;
let html: string;
let dir: string;
let context: BrowserContext;
const blocked: string[] = [];
const dialogs: string[] = [];

beforeAll(async () => {
  expect(
    existsSync(CHROMIUM),
    `${CHROMIUM} is missing: CI installs it (.ci/run: apt-get install chromium)`,
  ).toBe(true);
  s = await startAuditSandbox(config);
  // A high failure (an out-of-band key), a high one (amd64 only where arm64 is required), and critical ones
  // whose resource and message carry markup: an image reference and a function name NVCF accepted as given.
  await s.aws.iam.send(new CreateAccessKeyCommand({ UserName: config.registries[0]?.userName }));
  await pushFixture(s, 'inference-gb200', 'amd64-oci', ['v1']);
  await control(s.sb, 'POST', 'seed', {
    nvcf: {
      functions: [
        {
          id: randomUUID(),
          versionId: randomUUID(),
          name: HOSTILE,
          containerImage: `${HOST}/inference:${HOSTILE}`,
          status: 'INACTIVE',
        },
      ],
    },
  });
  run = await invokeAudit(s);
  html = await readObject(s, run.result.reports.bucket, run.result.reports.html);
  dir = await mkdtemp(join(tmpdir(), 'nvcf-ecr-audit-html-'));
  const file = join(dir, 'audit.html');
  await writeFile(file, html);
  context = await chromium.launchPersistentContext(join(dir, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const self = pathToFileURL(file).href;
  await context.route('**/*', (route) => {
    if (route.request().url() === self) return route.continue();
    blocked.push(route.request().url());
    return route.abort();
  });
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  await page.goto(self);
}, 120_000);

afterAll(async () => {
  await context?.close();
  await s?.sb.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const page = () => context.pages()[0] as NonNullable<ReturnType<BrowserContext['pages']>[number]>;

/** The text a reader sees: layout-aware, so hidden text is left out (what `textContent` would not do). */
function seen(locator: Locator): Promise<string> {
  // biome-ignore lint/performance/useDomNodeTextContent: these assertions are about what the rendered page shows.
  return locator.innerText();
}

describe('Report: audit.html in Chromium', () => {
  it('shows the verdict and the counts before any finding', async () => {
    const sections = await page()
      .locator('main > section')
      .evaluateAll((els) => els.map((e) => e.id));
    expect(sections[0]).toBe('summary');
    expect(sections[1]).toBe('failures');
    const verdict = await seen(page().locator('#summary .verdict'));
    expect(verdict).toBe(`Not compliant: ${run.report.summary.failed} failed (worst: critical)`);
    const failedCount = await seen(page().locator('#summary .count-fail b'));
    expect(Number(failedCount)).toBe(run.report.findings.filter((f) => f.status === 'fail').length);
  });

  it('lists failures most severe first', async () => {
    const severities = await page()
      .locator('#failures article')
      .evaluateAll((els) =>
        els.map((e) => [...e.classList].find((c) => c.startsWith('sev-'))?.slice(4) ?? ''),
      );
    expect(severities.length).toBeGreaterThanOrEqual(3);
    const ranks = severities.map((sev) => SEVERITIES.indexOf(sev as (typeof SEVERITIES)[number]));
    expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
    expect(severities[0]).toBe('critical');
  });

  it('folds the evidence: every details element is closed and its content hidden', async () => {
    const open = await page()
      .locator('details')
      .evaluateAll((els) => els.map((e) => (e as unknown as { open: boolean }).open));
    expect(open.length).toBeGreaterThan(0);
    expect(open.every((o) => o === false)).toBe(true);
    expect(await page().locator('#failures article pre').first().isVisible()).toBe(false);
    await page().locator('#failures article summary').first().click();
    expect(await page().locator('#failures article pre').first().isVisible()).toBe(true);
  });

  it('shows a resource named <script> as text and never runs it', async () => {
    const hostile = page().locator('#failures article', { hasText: HOSTILE });
    expect(await hostile.count()).toBeGreaterThanOrEqual(1);
    expect(await seen(hostile.first().locator('.resource'))).toBe(`${HOST}/inference:${HOSTILE}`);
    expect(await page().locator('script').count()).toBe(0);
    expect(dialogs).toEqual([]);
    expect(html).not.toContain(HOSTILE);
  });

  it('is self-contained: no request leaves the page, no external URL, a CSP that forbids loading anything', async () => {
    expect(blocked).toEqual([]);
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).not.toMatch(/<(script|link|img|iframe|object)\b/i);
    const csp = await page().locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content');
    expect(csp).toBe("default-src 'none'; style-src 'unsafe-inline'");
  });
});
