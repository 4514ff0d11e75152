import { readFileSync } from 'node:fs';
import { CHECK_IDS, CHECKS, checkCatalog, SEVERITIES } from '@nvcf-ecr/core/audit';
import { describe, expect, it } from 'vitest';

describe('Catalog: CHECKS', () => {
  it('defines every check id of the contract exactly once, with what it proves and how to fix it', () => {
    expect(checkCatalog().map((c) => c.id)).toEqual([...CHECK_IDS]);
    for (const id of CHECK_IDS) {
      const c = CHECKS[id];
      expect(c.id).toBe(id);
      expect(SEVERITIES).toContain(c.severity);
      expect(c.title.length).toBeGreaterThan(10);
      expect(c.proves.length).toBeGreaterThan(40);
      expect(c.remediation.length).toBeGreaterThan(20);
    }
  });

  it('cites only public URLs in what reports show an auditor: no document of ours, no section sign', () => {
    const shown = checkCatalog().flatMap((c) => [
      { id: c.id, text: c.title },
      { id: c.id, text: c.proves },
      { id: c.id, text: c.remediation },
    ]);
    // A file name a reader cannot open (`x.md`, `README`) or a section of one (`§4.3`) has no place in a report.
    const internal = shown.filter(({ text }) =>
      /§|\b[\w-]+\.md\b|README/.test(text.replace(/https:\/\/\S+/g, '')),
    );
    expect(internal).toEqual([]);
  });

  it('is documented in the audit README: one section per check id', () => {
    const doc = readFileSync(new URL('../../../packages/core/src/audit/README.md', import.meta.url), 'utf8');
    const documented = [...doc.matchAll(/^### `([a-z.-]+)` — /gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual([...CHECK_IDS].sort());
  });
});
