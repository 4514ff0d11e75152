import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { CHECKOUT } from '../../helpers/checkout-guard.ts';

/**
 * Readers for the stand-alone checks: the files git tracks, the headings of a Markdown file as GitHub anchors
 * them, and the links and document references a file makes.
 */

/** Text files git tracks (data files under fixture blobs and the lock file excluded). */
export function trackedTextFiles(): string[] {
  const out = execFileSync('git', ['ls-files', '-z'], { cwd: CHECKOUT, encoding: 'utf8' });
  return out
    .split('\0')
    .filter(
      (f) => f !== '' && f !== 'package-lock.json' && !/\/blobs\//.test(f) && !/\.(tar|png|snap)$/.test(f),
    )
    .filter((f) => existsSync(join(CHECKOUT, f)));
}

export function read(file: string): string {
  return readFileSync(join(CHECKOUT, file), 'utf8');
}

/** Lines outside fenced code blocks (fenced lines become empty, so line numbers stay). */
export function prose(markdown: string): string[] {
  let fenced = false;
  return markdown.split('\n').map((line) => {
    if (/^\s*(```|~~~)/.test(line)) {
      fenced = !fenced;
      return '';
    }
    return fenced ? '' : line;
  });
}

/**
 * GitHub's heading anchor: lower case, punctuation other than `-` and `_` removed, spaces to `-`, and a
 * `-N` suffix for the N-th repeat (github/cmark-gfm's anchor filter, as github.com renders READMEs).
 */
export function anchorsOf(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const line of prose(markdown)) {
    const m = line.match(/^#{1,6}\s+(.*?)\s*#*\s*$/);
    if (!m) continue;
    const base = (m[1] ?? '')
      .toLowerCase()
      .replace(/<[^>]+>/g, '')
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

export interface Link {
  file: string;
  line: number;
  target: string;
}

/** Relative Markdown links `[text](target)` of a Markdown file (web links and mail addresses left out). */
export function markdownLinks(file: string): Link[] {
  const links: Link[] = [];
  prose(read(file)).forEach((text, i) => {
    const stripped = text.replace(/`[^`]*`/g, '');
    for (const m of stripped.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      const target = m[1] ?? '';
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
      links.push({ file, line: i + 1, target });
    }
  });
  return links;
}

/** Why a link does not resolve inside the checkout, or undefined when it does. */
export function brokenLink(link: Link): string | undefined {
  const [path = '', anchor] = link.target.split('#');
  const target = path === '' ? link.file : normalize(join(dirname(link.file), decodeURI(path)));
  if (target.startsWith('..')) return `${link.target} leaves the checkout`;
  if (!existsSync(join(CHECKOUT, target))) return `${link.target}: no file ${target}`;
  if (anchor === undefined || anchor === '') return undefined;
  if (!target.endsWith('.md')) return undefined;
  return anchorsOf(read(target)).has(anchor)
    ? undefined
    : `${link.target}: ${target} has no heading #${anchor}`;
}

export interface DocReference {
  file: string;
  line: number;
  /** The document as written, e.g. `packages/core/src/rotation/README.md`. */
  doc: string;
  /** The section named after it, e.g. `Recovering`, when there is one. */
  section?: string;
}

/**
 * References to this repository's documents in code and prose: a path ending in `.md` that names a folder
 * of the repository (`packages/…/README.md`, `test/fixtures/README.md`) or the root `README.md`, optionally
 * followed by a section in quotes (`README.md, "Recovering"`).
 */
export function docReferences(file: string): DocReference[] {
  const refs: DocReference[] = [];
  read(file)
    .split('\n')
    .forEach((text, i) => {
      const pattern =
        /(?<![\w/.-])((?:(?:packages|stacks|test|functions)\/[\w./-]+\/)?README\.md|(?:packages|stacks|test|functions)\/[\w./-]+\.md)\b[`'*]*(?:,?\s+(?:section\s+)?["“]([^"”]+)["”])?/g;
      for (const m of text.matchAll(pattern)) {
        const doc = m[1] ?? '';
        refs.push({ file, line: i + 1, doc, ...(m[2] ? { section: m[2] } : {}) });
      }
    });
  return refs;
}

/** Why a document reference does not resolve, or undefined when it does. */
export function brokenReference(ref: DocReference): string | undefined {
  // A path is taken from the repository root (how code and docs write them); a bare README.md means the
  // nearest README.md above the referencing file, as a reader would look for it.
  let target = ref.doc;
  if (ref.doc === 'README.md') {
    for (let dir = dirname(ref.file); ; dir = dirname(dir)) {
      const candidate = dir === '.' ? 'README.md' : join(dir, 'README.md');
      if (existsSync(join(CHECKOUT, candidate))) {
        target = candidate;
        break;
      }
      if (dir === '.') break;
    }
  }
  if (!existsSync(join(CHECKOUT, target))) return `${ref.doc}: no such file in the repository`;
  if (ref.section === undefined) return undefined;
  const headings = prose(read(target))
    .map((l) => l.match(/^#{1,6}\s+(.*?)\s*$/)?.[1])
    .filter((h): h is string => h !== undefined)
    .map((h) => h.replace(/`/g, '').toLowerCase());
  const wanted = ref.section.replace(/`/g, '').toLowerCase();
  return headings.some((h) => h === wanted || h.startsWith(`${wanted} `) || h.includes(wanted))
    ? undefined
    : `${ref.doc}, "${ref.section}": ${relative(CHECKOUT, join(CHECKOUT, target))} has no such heading`;
}
