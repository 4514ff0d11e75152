import { readFileSync } from 'node:fs';
import { configSchema } from '@nvcf-ecr/core/config';
import { describe, expect, it } from 'vitest';

// README.md's configuration reference must list exactly the keys of the zod schema (core's `configSchema`),
// with the schema's defaults. The convention the table follows:
// - it sits under a heading `Configuration reference` (any level), and may be split into several tables;
// - a row's first cell is the key's dotted path in a code span: `ngc.baseUrl`, `registries[].rotation.graceHours`
//   (`[]` marks the elements of an array);
// - objects are not rows (their keys are); arrays are rows, and so are the keys of their object elements;
// - a column headed `Default` holds the default as a code span, JSON or single-quoted ('rate(30 days)', 24,
//   ["linux/amd64"], {}); a key without a schema default has no such code span there (write `required`,
//   `optional`, or a derived default in words or a non-JSON code span, e.g. `nvcf-ecr-<name>`).

interface SchemaKey {
  path: string;
  /** The schema default, when there is one. */
  default?: unknown;
}

interface ZodLike {
  _zod: { def: Record<string, unknown> & { type: string } };
}

/** Every key of the schema, walked through its zod definitions. */
function schemaKeys(
  schema: ZodLike,
  path = '',
  out: SchemaKey[] = [],
  fallback?: { value: unknown },
): SchemaKey[] {
  const def = schema._zod.def;
  switch (def.type) {
    case 'default':
      return schemaKeys(def['innerType'] as ZodLike, path, out, { value: def['defaultValue'] });
    case 'optional':
    case 'nullable':
      return schemaKeys(def['innerType'] as ZodLike, path, out, fallback);
    case 'object':
      for (const [key, value] of Object.entries(def['shape'] as Record<string, ZodLike>)) {
        schemaKeys(value, path ? `${path}.${key}` : key, out);
      }
      return out;
    case 'array': {
      out.push({ path, ...(fallback ? { default: fallback.value } : {}) });
      const element = def['element'] as ZodLike;
      if (element._zod.def.type === 'object') schemaKeys(element, `${path}[]`, out);
      return out;
    }
    default:
      out.push({ path, ...(fallback ? { default: fallback.value } : {}) });
      return out;
  }
}

interface TableRow {
  path: string;
  defaultCell: string | undefined;
}

/** The rows of every table in the `Configuration reference` section. */
function readmeRows(markdown: string): TableRow[] | undefined {
  // Lines of fenced code blocks are neither headings nor tables (a `# comment` in a shell block is not a heading).
  let fenced = false;
  const lines = markdown.split('\n').map((line) => {
    if (/^\s*(```|~~~)/.test(line)) {
      fenced = !fenced;
      return '';
    }
    return fenced ? '' : line;
  });
  const start = lines.findIndex((l) => /^#{1,6}\s+Configuration reference\s*$/i.test(l));
  if (start < 0) return undefined;
  const level = (lines[start]?.match(/^#+/)?.[0] ?? '#').length;
  const rows: TableRow[] = [];
  let defaultColumn: number | undefined;
  for (const line of lines.slice(start + 1)) {
    const heading = line.match(/^(#+)\s/);
    if (heading && (heading[1] ?? '').length <= level) break;
    if (!line.trimStart().startsWith('|')) {
      defaultColumn = undefined;
      continue;
    }
    // Cells split at unescaped pipes (`a \| b` is one cell, as GitHub renders it).
    const cells = line
      .trim()
      .replace(/^\||\|$/g, '')
      .split(/(?<!\\)\|/)
      .map((c) => c.trim());
    if (cells.every((c) => /^:?-+:?$/.test(c))) continue;
    const key = cells[0]?.match(/^`([^`]+)`$/)?.[1];
    if (key === undefined) {
      // A header row: find its Default column.
      const at = cells.findIndex((c) => /^default$/i.test(c));
      defaultColumn = at < 0 ? undefined : at;
      continue;
    }
    rows.push({ path: key, defaultCell: defaultColumn === undefined ? undefined : cells[defaultColumn] });
  }
  return rows;
}

/** The default a cell states: the first code span that is JSON or a single-quoted string. */
function statedDefault(cell: string | undefined): { value: unknown } | undefined {
  for (const [, span] of (cell ?? '').matchAll(/`([^`]+)`/g)) {
    const text = (span ?? '').trim();
    if (/^'.*'$/.test(text)) return { value: text.slice(1, -1) };
    try {
      return { value: JSON.parse(text) };
    } catch {
      // Not a literal (a derived default such as `nvcf-ecr-<name>`): keep looking.
    }
  }
  return undefined;
}

const README = readFileSync('README.md', 'utf8');
const keys = schemaKeys(configSchema as unknown as ZodLike);

describe('README: configuration reference', () => {
  it('walks the schema into the keys an operator writes', () => {
    // A few keys the architecture names, to prove the walk reaches them (not the whole list: that is the code's).
    const paths = keys.map((k) => k.path);
    expect(paths).toEqual(
      expect.arrayContaining(['ngc.apiKeySecretName', 'registries', 'registries[].rotation.graceHours']),
    );
    expect(keys.find((k) => k.path === 'registries[].rotation.graceHours')?.default).toBe(24);
    expect(keys.find((k) => k.path === 'registries[].hostname')).toEqual({ path: 'registries[].hostname' });
  });

  it('lists exactly the keys of the configuration schema', () => {
    const rows = readmeRows(README);
    expect(rows, 'README.md has no "Configuration reference" heading with the table under it').toBeDefined();
    const listed = (rows ?? []).map((r) => r.path);
    const schema = keys.map((k) => k.path);
    const missing = schema.filter((p) => !listed.includes(p));
    const unknown = listed.filter((p) => !schema.includes(p));
    const twice = listed.filter((p, i) => listed.indexOf(p) !== i);
    expect({ missing, unknown, twice }).toEqual({ missing: [], unknown: [], twice: [] });
  });

  it('states the schema default of every key that has one, and none for the others', () => {
    const rows = new Map((readmeRows(README) ?? []).map((r) => [r.path, r]));
    const wrong: string[] = [];
    for (const key of keys) {
      const row = rows.get(key.path);
      if (!row) continue;
      const stated = statedDefault(row.defaultCell);
      if ('default' in key) {
        if (!stated)
          wrong.push(`${key.path}: states no default; the schema's is ${JSON.stringify(key.default)}`);
        else if (JSON.stringify(stated.value) !== JSON.stringify(key.default))
          wrong.push(
            `${key.path}: states ${JSON.stringify(stated.value)}; the schema's is ${JSON.stringify(key.default)}`,
          );
      } else if (stated) {
        wrong.push(`${key.path}: states ${JSON.stringify(stated.value)}, but the schema has no default`);
      }
    }
    expect(wrong).toEqual([]);
  });
});
