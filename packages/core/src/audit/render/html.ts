import { type AuditReport, CHECK_STATUSES, type Finding, SEVERITIES } from '../model.ts';
import { byStatus, evidenceJson, escapeHtml as h, SEVERITY_LABEL, STATUS_LABEL } from './text.ts';

/**
 * `audit.html`: one self-contained page for a security reviewer — inline CSS, no script, no external URL, and
 * a Content-Security-Policy that forbids loading anything, so the file shows the same offline, from S3 or
 * from an e-mail attachment, and a hostile string in a finding can neither run nor call out. Summary first,
 * failures first (most severe first), evidence folded in `<details>`; every value HTML-escaped.
 */

const CSS = `
:root{--fg:#1b1f24;--muted:#57606a;--line:#d0d7de;--bg:#fff;--soft:#f6f8fa;--critical:#a40e26;--high:#cf222e;--medium:#bc4c00;--low:#9a6700;--info:#0969da;--pass:#1a7f37}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 -apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:var(--fg);background:var(--bg)}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:19px;margin:32px 0 12px;padding-bottom:6px;border-bottom:1px solid var(--line)}
.meta{color:var(--muted);margin:0}
.verdict{margin:20px 0;padding:16px 20px;border-radius:8px;font-size:18px;font-weight:600;border:1px solid}
.verdict.ok{color:var(--pass);border-color:var(--pass);background:#dafbe1}.verdict.bad{color:var(--high);border-color:var(--high);background:#ffebe9}
.counts{display:flex;flex-wrap:wrap;gap:12px;margin:0;padding:0;list-style:none}
.counts li{min-width:120px;padding:10px 14px;border:1px solid var(--line);border-radius:8px;background:var(--soft)}
.counts b{display:block;font-size:22px}
.finding{border:1px solid var(--line);border-left:6px solid var(--muted);border-radius:6px;padding:12px 16px;margin:0 0 12px}
.finding.sev-critical{border-left-color:var(--critical)}.finding.sev-high{border-left-color:var(--high)}.finding.sev-medium{border-left-color:var(--medium)}.finding.sev-low{border-left-color:var(--low)}.finding.sev-info{border-left-color:var(--info)}
.finding h3{font-size:15px;margin:0 0 6px;display:flex;flex-wrap:wrap;gap:8px;align-items:baseline}
.badge{display:inline-block;padding:0 8px;border-radius:10px;font-size:12px;font-weight:600;color:#fff;background:var(--muted);text-transform:uppercase}
.badge.sev-critical{background:var(--critical)}.badge.sev-high{background:var(--high)}.badge.sev-medium{background:var(--medium)}.badge.sev-low{background:var(--low)}.badge.sev-info{background:var(--info)}.badge.pass{background:var(--pass)}
code,.resource,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13px}
.resource{word-break:break-all;color:var(--muted)}
.fix{margin:6px 0}.fix b{color:var(--fg)}
details{margin-top:6px}summary{cursor:pointer;color:var(--info)}
pre{background:var(--soft);border:1px solid var(--line);border-radius:6px;padding:10px;overflow:auto;white-space:pre-wrap;word-break:break-word}
table{border-collapse:collapse;width:100%;font-size:14px}th,td{border:1px solid var(--line);padding:6px 8px;text-align:left;vertical-align:top}th{background:var(--soft)}
td.res{word-break:break-all}
footer{margin-top:32px;color:var(--muted);font-size:13px}
`;

function finding(f: Finding): string {
  const badge = f.status === 'pass' ? 'pass' : `sev-${f.severity}`;
  const label = f.status === 'pass' ? 'pass' : f.status === 'error' ? `error · ${f.severity}` : f.severity;
  return `<article class="finding sev-${h(f.severity)} status-${h(f.status)}" data-check="${h(f.checkId)}" data-status="${h(f.status)}">
<h3><span class="badge ${badge}">${h(label)}</span><code>${h(f.checkId)}</code><span class="resource">${h(f.resource)}</span></h3>
<p class="message">${h(f.message)}</p>
${f.registry ? `<p class="meta">Registry ${h(f.registry)} · ${h(f.title)}</p>` : `<p class="meta">${h(f.title)}</p>`}
${f.exemption ? `<p class="fix"><b>Exempted until ${h(f.exemption.expires)}:</b> ${h(f.exemption.reason)}</p>` : ''}
${f.status === 'pass' ? '' : `<p class="fix"><b>Fix:</b> ${h(f.remediation)}</p>`}
<details><summary>Evidence</summary><pre>${h(evidenceJson(f))}</pre></details>
</article>`;
}

function section(id: string, title: string, findings: readonly Finding[]): string {
  if (findings.length === 0) return '';
  return `<section id="${id}"><h2>${h(title)} (${findings.length})</h2>\n${findings.map(finding).join('\n')}\n</section>`;
}

export function renderHtml(report: AuditReport): string {
  const s = report.summary;
  const ok = s.failed === 0 && s.errors === 0;
  const verdict = ok
    ? `Compliant: ${s.passed} checks passed${s.exempted > 0 ? `, ${s.exempted} exempted` : ''}`
    : `Not compliant: ${s.failed} failed${s.errors > 0 ? `, ${s.errors} could not be checked` : ''}${s.worstSeverity ? ` (worst: ${s.worstSeverity})` : ''}`;
  const counts = CHECK_STATUSES.map(
    (st) => `<li class="count-${st}">${h(STATUS_LABEL[st])}<b>${s.byStatus[st]}</b></li>`,
  ).join('');
  const severities = SEVERITIES.map(
    (sev) =>
      `<li class="severity-${sev}"><span class="badge sev-${sev}">${h(SEVERITY_LABEL[sev])}</span><b>${s.bySeverity[sev]}</b></li>`,
  ).join('');
  const passed = byStatus(report.findings, 'pass');
  const passedTable =
    passed.length === 0
      ? ''
      : `<section id="passed"><h2>Passed (${passed.length})</h2>
<details><summary>Show the ${passed.length} passed findings</summary>
<table><thead><tr><th>Check</th><th>Resource</th><th>Finding</th></tr></thead><tbody>
${passed.map((f) => `<tr data-check="${h(f.checkId)}"><td><code>${h(f.checkId)}</code></td><td class="res">${h(f.resource)}</td><td>${h(f.message)}</td></tr>`).join('\n')}
</tbody></table></details></section>`;
  const checks = `<section id="checks"><h2>What each check proves</h2>
<table><thead><tr><th>Check</th><th>Severity</th><th>A pass proves</th><th>How to fix a failure</th></tr></thead><tbody>
${report.checks.map((c) => `<tr><td><code>${h(c.id)}</code><br>${h(c.title)}</td><td>${h(SEVERITY_LABEL[c.severity])}</td><td>${h(c.proves)}</td><td>${h(c.remediation)}</td></tr>`).join('\n')}
</tbody></table></section>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>NVCF compliance audit ${h(report.generatedAt)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
<header>
<h1>NVCF pull chain compliance audit</h1>
<p class="meta">Generated ${h(report.generatedAt)} · ${report.registries.map((r) => `${h(r.name)} (${h(r.hostname)})`).join(', ')}</p>
</header>
<section id="summary">
<p class="verdict ${ok ? 'ok' : 'bad'}">${h(verdict)}</p>
<ul class="counts">${counts}</ul>
<h2>Failures by severity</h2>
<ul class="counts">${severities}</ul>
</section>
${section('failures', 'Failures', byStatus(report.findings, 'fail'))}
${section('errors', 'Could not be checked', byStatus(report.findings, 'error'))}
${section('exempted', 'Exempted', byStatus(report.findings, 'exempt'))}
${passedTable}
${checks}
<footer>Report schema version ${report.schemaVersion} · ${report.findings.length} findings · ${h(
    Object.entries(report.stats)
      .map(([k, v]) => `${k} ${v}`)
      .join(' · '),
  )}</footer>
</main>
</body>
</html>
`;
}
