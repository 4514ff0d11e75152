/**
 * ListSecrets' `Filters` (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_Filter.html):
 * which secrets one filter keeps, apart from the backend that lists them.
 */
import type { ListFilter, SecretRecord } from './records.ts';

export function matchesFilter(secret: SecretRecord, filter: ListFilter): boolean {
  const tags = secret.tags ?? [];
  const candidates: Record<string, { values: string[]; caseSensitive: boolean; words: boolean }> = {
    name: { values: [secret.name], caseSensitive: true, words: false },
    'tag-key': { values: tags.map((t) => t.Key), caseSensitive: true, words: false },
    'tag-value': { values: tags.map((t) => t.Value), caseSensitive: true, words: false },
    description: {
      values: secret.description ? [secret.description] : [],
      caseSensitive: false,
      words: false,
    },
    'primary-region': { values: [secret.region], caseSensitive: true, words: false },
    'owning-service': { values: [], caseSensitive: true, words: false },
    all: {
      values: [secret.name, secret.description ?? '', ...tags.flatMap((t) => [t.Key, t.Value])].flatMap((v) =>
        v.split(/[\s/_+=.@-]+/),
      ),
      caseSensitive: false,
      words: true,
    },
  };
  const c = candidates[filter.Key];
  if (!c) return false;
  const norm = (v: string) => (c.caseSensitive ? v : v.toLowerCase());
  const positives = filter.Values.filter((v) => !v.startsWith('!'));
  const negatives = filter.Values.filter((v) => v.startsWith('!')).map((v) => v.slice(1));
  const hit = (pattern: string) => c.values.some((v) => norm(v).startsWith(norm(pattern)));
  if (negatives.some(hit)) return false;
  return positives.length === 0 || positives.some(hit);
}
