/**
 * Renders the pictures of stacks/README.md and packages/core/src/events/README.md with headless Chromium
 * (Debian's `/usr/bin/chromium`), from what the code builds, not from hand-drawn mock-ups:
 *
 * - `dashboard.png`: the dashboard body synthesised from `nvcf-ecr.config.ts` (its widgets, titles, metrics,
 *   annotations and layout), drawn as CloudWatch lays it out (24 columns), with SAMPLE data in the graphs
 *   (the sandbox has no CloudWatch; the numbers are illustrative, the layout and labels are the template's);
 * - `slack-message.png`: the Slack payload the `rotation-failed` rule sends, rendered by core's input
 *   transformer from a sample event, drawn the way Slack draws Block Kit (header, two-column fields, text,
 *   button).
 *
 * Run: `node stacks/docs/render-pictures.ts` (writes stacks/docs/*.png).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { consoleUrl, DETAIL_TYPES, renderInputTransformer, webhookTransformer } from '@nvcf-ecr/core/events';
import { chromium } from 'playwright-core';
import { synthesize } from '../lib/synth.ts';

const HERE = dirname(fileURLToPath(import.meta.url));

interface Widget {
  type: 'text' | 'metric';
  x: number;
  y: number;
  width: number;
  height: number;
  properties: {
    markdown?: string;
    title?: string;
    metrics?: unknown[][];
    annotations?: { horizontal?: { value: number; label: string }[] };
    stacked?: boolean;
  };
}

/** Resolves the `Fn::Join` CDK writes for a dashboard body, with the deployment's pseudo-parameters. */
function resolve(value: unknown): string {
  if (typeof value === 'string') return value;
  const join = (value as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (join) return join[1].map(resolve).join(join[0]);
  const ref = (value as { Ref?: string }).Ref;
  if (ref === 'AWS::Region') return 'us-east-1';
  if (ref === 'AWS::AccountId') return '123456789012';
  throw new Error(`cannot resolve ${JSON.stringify(value)}`);
}

const escapeHtml = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b'];

/** A deterministic sample series for a metric label (illustrative only). */
function sample(label: string, i: number, n = 30): number[] {
  const seed = [...label].reduce((a, c) => a + c.charCodeAt(0), 0) + i * 7;
  if (/key age|Key age/.test(label)) return Array.from({ length: n }, (_, d) => (d + 12) % 31);
  if (/since rotation/i.test(label)) return Array.from({ length: n }, (_, d) => (d + 12) % 31);
  // Failures are rare: a single bad day.
  if (
    /fail|error|critical|high|non-compliant|not-runnable|nvcf-ecr-/i.test(label) &&
    !/duration/i.test(label)
  )
    return Array.from({ length: n }, (_, d) => (d === (seed % (n - 4)) + 2 ? 1 + (seed % 3) : 0));
  return Array.from({ length: n }, (_, d) =>
    Math.max(0, Math.round(6 + 4 * Math.sin((d + seed) / 3) + ((seed * d) % 4))),
  );
}

function graph(w: Widget): string {
  // Metrics a math expression uses are in the body with `visible: false`: CloudWatch does not draw them.
  const metrics = (w.properties.metrics ?? []).filter(
    (m) =>
      !m.some((x) => typeof x === 'object' && x !== null && (x as { visible?: boolean }).visible === false),
  );
  const duration = /duration/i.test(w.properties.title ?? '');
  const labels = metrics.map((m, i) => {
    const opts = m.find((x) => typeof x === 'object' && x !== null && !Array.isArray(x)) as
      | { label?: string; expression?: string }
      | undefined;
    return opts?.label ?? String(m[1] ?? `m${i}`);
  });
  const series = labels.map((l, i) =>
    duration ? sample(`duration ${l}`, i).map((v) => v * 150) : sample(l, i),
  );
  const limit = w.properties.annotations?.horizontal?.[0];
  const max = Math.max(5, ...series.flat(), limit ? limit.value * 1.1 : 0);
  const W = w.width * 52 - 24;
  const H = w.height * 38 - 70;
  const path = (s: number[]) =>
    s
      .map(
        (v, d) =>
          `${d === 0 ? 'M' : 'L'}${((d / (s.length - 1)) * W).toFixed(1)},${(H - (v / max) * H).toFixed(1)}`,
      )
      .join(' ');
  const lines = series.map(
    (s, i) => `<path d="${path(s)}" fill="none" stroke="${COLORS[i % COLORS.length]}" stroke-width="2"/>`,
  );
  const annotation = limit
    ? `<line x1="0" x2="${W}" y1="${H - (limit.value / max) * H}" y2="${H - (limit.value / max) * H}" stroke="#d62728" stroke-dasharray="6 4"/><text x="4" y="${H - (limit.value / max) * H - 4}" fill="#d62728" font-size="11">${escapeHtml(limit.label)}</text>`
    : '';
  const legend = labels
    .map((l, i) => `<span><i style="background:${COLORS[i % COLORS.length]}"></i>${escapeHtml(l)}</span>`)
    .join('');
  return `<h3>${escapeHtml(w.properties.title ?? '')}</h3><svg width="${W}" height="${H}"><rect width="${W}" height="${H}" fill="#fafafa"/>${lines.join('')}${annotation}</svg><div class="legend">${legend}</div>`;
}

function dashboardHtml(name: string, widgets: Widget[]): string {
  const cells = widgets
    .map((w) => {
      const style = `grid-column:${w.x + 1} / span ${w.width};grid-row:${w.y + 1} / span ${w.height}`;
      const body =
        w.type === 'text'
          ? `<div class="md">${escapeHtml((w.properties.markdown ?? '').replace(/^#+\s*/, '')).replace(/`([^`]+)`/g, '<code>$1</code>')}</div>`
          : graph(w);
      return `<section class="${w.type}" style="${style}">${body}</section>`;
    })
    .join('\n');
  return `<!doctype html><meta charset="utf-8"><style>
body{margin:0;font:13px "Amazon Ember",Arial,sans-serif;background:#f2f3f3;color:#16191f}
header{background:#232f3e;color:#fff;padding:10px 16px;font-size:16px}
header small{color:#aab7b8;margin-left:12px}
.grid{display:grid;grid-template-columns:repeat(24,52px);grid-auto-rows:38px;gap:0;padding:12px}
section{background:#fff;border:1px solid #d5dbdb;margin:3px;padding:6px 8px;overflow:hidden}
section.text{background:transparent;border:none}
.md{font-size:15px;font-weight:bold;padding-top:6px}
h3{margin:0 0 6px;font-size:13px}
.legend span{margin-right:10px;font-size:11px;white-space:nowrap}
.legend i{display:inline-block;width:10px;height:3px;margin-right:4px;vertical-align:middle}
code{background:#eaeded;padding:0 3px}
</style><header>CloudWatch › Dashboards › ${escapeHtml(name)}<small>rendered from the synthesised DashboardBody; graph values are sample data</small></header><div class="grid">${cells}</div>`;
}

function slackHtml(payload: { text: string; blocks: Record<string, unknown>[] }): string {
  const mrkdwn = (s: string) =>
    escapeHtml(s)
      .replace(/\*([^*]+)\*/g, '<b>$1</b>')
      .replace(/`([^`]+)`/g, '<code>$1</code>');
  const blocks = payload.blocks
    .map((b) => {
      const text = (b['text'] as { text: string } | undefined)?.text ?? '';
      if (b['type'] === 'header') return `<div class="header">${escapeHtml(text)}</div>`;
      if (b['type'] === 'section' && b['fields'])
        return `<div class="fields">${(b['fields'] as { text: string }[]).map((f) => `<div>${mrkdwn(f.text)}</div>`).join('')}</div>`;
      if (b['type'] === 'section') return `<div class="text">${mrkdwn(text)}</div>`;
      if (b['type'] === 'actions')
        return `<div>${(b['elements'] as { text: { text: string } }[]).map((e) => `<span class="button">${escapeHtml(e.text.text)}</span>`).join('')}</div>`;
      return '';
    })
    .join('');
  return `<!doctype html><meta charset="utf-8"><style>
body{margin:0;padding:20px;font:15px Lato,"Helvetica Neue",Arial,sans-serif;background:#fff;color:#1d1c1d;width:760px}
.msg{display:flex;gap:10px}.avatar{width:36px;height:36px;border-radius:4px;background:#76b900;color:#fff;font-weight:bold;display:flex;align-items:center;justify-content:center}
.name{font-weight:900}.name small{font-weight:normal;color:#616061;margin-left:6px;font-size:12px}
.header{font-size:18px;font-weight:900;margin:6px 0}
.fields{display:grid;grid-template-columns:1fr 1fr;gap:4px 16px;margin:8px 0}
.text{margin:8px 0}.button{display:inline-block;border:1px solid #bbb;border-radius:4px;padding:4px 12px;font-weight:bold;font-size:13px;margin-top:4px}
code{background:#f4f4f4;border:1px solid #ddd;border-radius:3px;padding:0 3px;color:#e01e5a;font-size:12px}
</style><div class="msg"><div class="avatar">N</div><div><div class="name">nvcf-ecr-autopilot<small>APP · 09:14</small></div>${blocks}</div></div>`;
}

async function screenshot(html: string, out: string, width: number): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'nvcf-ecr-pictures-'));
  try {
    const file = join(dir, 'page.html');
    await writeFile(file, html);
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--no-first-run',
      ],
    });
    const page = await browser.newPage({ viewport: { width, height: 400 } });
    // Nothing leaves the machine: the page is self-contained.
    await page.route('**/*', (route) =>
      route.request().url() === pathToFileURL(file).href ? route.continue() : route.abort(),
    );
    await page.goto(pathToFileURL(file).href);
    await page.screenshot({ path: out, fullPage: true });
    await browser.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const outdir = await mkdtemp(join(tmpdir(), 'nvcf-ecr-synth-'));
try {
  const result = await synthesize({ stage: 'prod', outdir, bundle: false });
  const notifications = result.stacks.find((s) => s.id === 'Notifications')?.template as {
    Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
  };
  const dashboard = Object.values(notifications.Resources).find(
    (r) => r.Type === 'AWS::CloudWatch::Dashboard',
  );
  if (!dashboard) throw new Error('no dashboard in the Notifications template');
  const body = JSON.parse(resolve(dashboard.Properties['DashboardBody'])) as { widgets: Widget[] };
  await screenshot(
    dashboardHtml(String(dashboard.Properties['DashboardName']), body.widgets),
    join(HERE, 'dashboard.png'),
    1300,
  );
} finally {
  await rm(outdir, { recursive: true, force: true });
}

const t = webhookTransformer('slack', 'rotation-failed', { consoleUrl: consoleUrl('aws'), stage: 'prod' });
const event = {
  version: '0',
  id: 'sample',
  'detail-type': DETAIL_TYPES.rotationFailed,
  source: 'nvcf-ecr-autopilot',
  account: '123456789012',
  time: '2026-12-07T09:14:05Z',
  region: 'us-east-1',
  resources: [],
  detail: {
    registry: 'prod',
    secretId: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:nvcf-ecr/prod/pull-key-Ab12Cd',
    step: 'setSecret',
    reason:
      'NVCF refused the new key: PATCH registry credential answered 403 (the NGC API key lacks the registry scope)',
    currentAccessKeyId: 'AKIA…7QXZ',
    currentKeyWorks: true,
  },
};
const slack = JSON.parse(renderInputTransformer(t, event, { arn: 'arn:sample', name: 'sample' })) as {
  text: string;
  blocks: Record<string, unknown>[];
};
await screenshot(slackHtml(slack), join(HERE, 'slack-message.png'), 800);
console.log('wrote stacks/docs/dashboard.png and stacks/docs/slack-message.png');
