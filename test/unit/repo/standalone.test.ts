import { readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHECKOUT, isAllowedPath, mayRead, OutsideCheckoutError } from '../../helpers/checkout-guard.ts';
import {
  brokenLink,
  brokenReference,
  docReferences,
  markdownLinks,
  read,
  trackedTextFiles,
} from './references.ts';

// The repository stands on its own: a clone in an empty folder passes `npm test`, and nothing in it reads or
// cites a file that is not in it. The patterns are assembled from parts so that this file does not match them.

const files = trackedTextFiles();
const NOTES = ['aws', 'nvcf-api', 'anchors', 'conventions'].join('|');
const OUTSIDE = new RegExp(
  [
    `\\b(${NOTES})\\.md`,
    `\\b(${NOTES}) §`,
    ['ARCHI', 'TECTURE'].join(''),
    ['issue', ' #[0-9]'].join(''),
    ['\\.\\.', '/shared'].join(''),
    ['reference', ' notes'].join(''),
  ].join('|'),
);

describe('Stand-alone: nothing reads outside the checkout', () => {
  // The file system's root exists on every machine and lies outside every folder a test may read.
  const outside = '/';

  it('refuses a synchronous read outside the checkout, naming the path and the fix', () => {
    expect(() => readFileSync(outside)).toThrow(OutsideCheckoutError);
    expect(() => readdirSync(outside)).toThrow(/read outside the checkout: \/\. .*test\/fixtures/);
  });

  it('refuses the promise form imported by name (the live ESM binding is guarded too)', async () => {
    await expect(readFile(outside)).rejects.toThrow(OutsideCheckoutError);
  });

  it('lets a missing path fail as it would: only data that exists somewhere else breaks a clone', () => {
    expect(() => readFileSync('/no-such-folder/data.json')).toThrow(/ENOENT/);
  });

  it('allows the checkout and refuses its siblings, wherever the clone is', () => {
    const roots = ['/tmp', '/root', '/usr'];
    for (const checkout of ['/work/ci/main', '/tmp/fresh/clone', '/root/src/clone']) {
      expect(mayRead(`${checkout}/test/fixtures/x`, checkout, roots)).toBe(true);
      expect(mayRead(join(dirname(checkout), 'shared', 'x'), checkout, roots)).toBe(false);
      expect(mayRead('/usr/share/zoneinfo/UTC', checkout, roots)).toBe(true);
    }
    // A clone made directly in a temporary folder has only temporary files beside it.
    expect(mayRead('/tmp/vitest-xyz/out.json', '/tmp/clone', roots)).toBe(true);
    expect(mayRead('/work/shared/x', '/work/ci/main', roots)).toBe(false);
  });

  it('guards this run: the checkout is readable, a path value of any kind is checked', () => {
    expect(isAllowedPath(join(CHECKOUT, 'package.json'))).toBe(true);
    expect(isAllowedPath(new URL('../../../package.json', import.meta.url))).toBe(true);
    expect(isAllowedPath(Buffer.from('/'))).toBe(false);
    expect(isAllowedPath(3)).toBe(true);
    expect(readFileSync(join(CHECKOUT, 'package.json'), 'utf8')).toContain('"name": "nvcf-ecr-autopilot"');
  });
});

describe('Stand-alone: every reference resolves inside the repository', () => {
  it('scans a real set of files', () => {
    expect(files).toContain('README.md');
    expect(files).toContain('packages/core/src/rotation/README.md');
    expect(files.length).toBeGreaterThan(300);
  });

  it('cites no file outside it: no research notes, no issue numbers, no sibling folders', () => {
    const hits = files.flatMap((file) =>
      read(file)
        .split('\n')
        .flatMap((line, i) => (OUTSIDE.test(line) ? [`${file}:${i + 1}: ${line.trim().slice(0, 160)}`] : [])),
    );
    expect(hits).toEqual([]);
  });

  it('has Markdown links whose files and anchors exist', () => {
    const links = files.filter((f) => f.endsWith('.md')).flatMap(markdownLinks);
    expect(links.length).toBeGreaterThan(20);
    const broken = links.flatMap((l) => {
      const why = brokenLink(l);
      return why ? [`${l.file}:${l.line}: ${why}`] : [];
    });
    expect(broken).toEqual([]);
  });

  it('names only documents and sections that exist, in code, docs and user-facing text', () => {
    // This folder's own files hold deliberately broken examples.
    const refs = files.filter((f) => !f.startsWith('test/unit/repo/')).flatMap(docReferences);
    expect(refs.some((r) => r.section !== undefined)).toBe(true);
    const broken = refs.flatMap((r) => {
      const why = brokenReference(r);
      return why ? [`${r.file}:${r.line}: ${why}`] : [];
    });
    expect(broken).toEqual([]);
  });

  it('detects what it is for: a broken link, a missing anchor and a missing section each fail', () => {
    expect(brokenLink({ file: 'README.md', line: 1, target: 'stacks/README.md' })).toBeUndefined();
    expect(brokenLink({ file: 'README.md', line: 1, target: 'stacks/NOPE.md' })).toMatch(/no file/);
    expect(brokenLink({ file: 'README.md', line: 1, target: '../outside.md' })).toMatch(
      /leaves the checkout/,
    );
    expect(brokenLink({ file: 'README.md', line: 1, target: '#no-such-heading' })).toMatch(/has no heading/);
    expect(brokenLink({ file: 'README.md', line: 1, target: '#quickstart' })).toBeUndefined();
    expect(
      brokenReference({
        file: 'x.ts',
        line: 1,
        doc: 'packages/core/src/rotation/README.md',
        section: 'Recovering',
      }),
    ).toBeUndefined();
    expect(
      brokenReference({
        file: 'x.ts',
        line: 1,
        doc: 'packages/core/src/rotation/README.md',
        section: 'Nowhere',
      }),
    ).toMatch(/no such heading/);
  });
});
