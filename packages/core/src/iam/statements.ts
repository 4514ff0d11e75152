import { type Permission, PRIVATE_TOKEN_ACTIONS, PUBLIC_TOKEN_ACTIONS } from './policy.ts';

/**
 * Reading identity policy documents as text, without evaluating them (AWS evaluates: `simulator.ts`): the
 * request context every IAM user's request carries, the (action, resource) pairs Allow statements name, the
 * statements wider than NVCF's minimal policy, and where each statement sits in the document's text, which
 * is how `iam:SimulatePrincipalPolicy` points at the statements that decided (`MatchedStatements`).
 */

/**
 * The context keys AWS sets on every signed request of an IAM user: who (`aws:PrincipalArn`,
 * `aws:PrincipalAccount`, `aws:PrincipalType`, `aws:username`, which policies use as `${aws:username}`)
 * and how (`aws:SecureTransport`: every SDK, NVCF and the sandbox's clients speak HTTPS semantics, so a
 * policy that requires TLS must not turn into a false "missing"). Keys the caller cannot know (source IP,
 * time) are left out: a statement conditioned on them does not match, as in AWS when the key is absent.
 */
export function defaultRequestContext(principalArn: string): Record<string, string> {
  const [, , , , account = '', resource = ''] = principalArn.split(':');
  const userName = resource.startsWith('user/') ? resource.slice(resource.lastIndexOf('/') + 1) : '';
  const ctx: Record<string, string> = {
    'aws:PrincipalArn': principalArn,
    'aws:PrincipalAccount': account,
    'aws:PrincipalType': 'User',
    'aws:SecureTransport': 'true',
  };
  if (userName) ctx['aws:username'] = userName;
  return ctx;
}

/** One (action, resource) an Allow statement names. */
export interface StatementGrant extends Permission {
  /** The `Resource` entry as the statement writes it (`resource` is it with its policy variables resolved). */
  readonly written: string;
}

/**
 * Every (action, resource) the Allow statements of a document name: each literal action (no `*` or `?`) on
 * each `Resource` entry, with the policy variables of `context` resolved (`${aws:username}`, with its
 * default if it has one, and the escapes `${*}`, `${?}`, `${$}`). Wildcard actions, `NotAction` and
 * `NotResource` statements are not expanded: {@link scanWildcards} reports them, and the fixed samples of
 * `evaluatePullAccess` show what they grant. A resource naming a variable the audit cannot know (a
 * principal tag, the source IP) is left out: AWS resolves it per request, the audit cannot.
 */
export function statementGrants(
  document: Record<string, unknown>,
  context: Readonly<Record<string, string>>,
): StatementGrant[] {
  const raw = document['Statement'];
  const statements: unknown[] = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
  const known = new Map(Object.entries(context).map(([k, v]) => [k.toLowerCase(), v]));
  const out: StatementGrant[] = [];
  for (const st of statements) {
    if (st === null || typeof st !== 'object') continue;
    const s = st as Record<string, unknown>;
    if (s['Effect'] !== 'Allow' || 'NotAction' in s || 'NotResource' in s) continue;
    const actions = strings(s['Action']).filter((a) => !/[*?]/.test(a));
    for (const written of strings(s['Resource'])) {
      const resource = resolveVariables(written, known);
      if (resource === undefined) continue;
      for (const action of actions) out.push({ action, resource, written });
    }
  }
  return out;
}

/** `${aws:username}` → its value; `undefined` when a variable has neither a known value nor a default. */
function resolveVariables(resource: string, known: ReadonlyMap<string, string>): string | undefined {
  let unresolved = false;
  const value = resource.replace(/\$\{([^}]*)\}/g, (_, inner: string) => {
    if (inner === '*' || inner === '?' || inner === '$') return inner;
    const [name = '', fallback] = inner.split(/,(.*)/s);
    const v = known.get(name.trim().toLowerCase());
    if (v !== undefined) return v;
    const quoted = fallback?.trim().match(/^'(.*)'$/s);
    if (quoted) return quoted[1] ?? '';
    unresolved = true;
    return '';
  });
  return unresolved ? undefined : value;
}

/** An Allow statement whose Action or Resource is wider than the minimal policy. */
export interface WildcardFinding {
  readonly source: string;
  /** The statement's `Sid`, or `Statement[i]`. */
  readonly statement: string;
  readonly detail: string;
}

// Actions that take no resource: `*` is their only possible Resource, so it is not a finding for them.
const RESOURCELESS = new Set<string>([...PRIVATE_TOKEN_ACTIONS, ...PUBLIC_TOKEN_ACTIONS]);

/**
 * Allow statements wider than the minimal policy, read from a document: `*`/`*:*`/`service:*` or other
 * action patterns, `NotAction`, `NotResource`, and `*` or pattern resources for actions that take a
 * resource. One finding per statement, its reasons joined.
 */
export function scanWildcards(source: string, document: Record<string, unknown>): WildcardFinding[] {
  const raw = document['Statement'];
  const statements: unknown[] = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
  const findings: WildcardFinding[] = [];
  statements.forEach((st, i) => {
    if (st === null || typeof st !== 'object') return;
    const s = st as Record<string, unknown>;
    if (s['Effect'] !== 'Allow') return;
    const id =
      typeof s['Sid'] === 'string' && s['Sid'] !== ''
        ? s['Sid']
        : Array.isArray(raw)
          ? `Statement[${i}]`
          : 'Statement';
    const details: string[] = [];
    const actions = strings(s['Action']);
    if ('NotAction' in s)
      details.push(`NotAction allows every action except ${list(strings(s['NotAction']))}`);
    for (const a of actions) {
      if (a === '*' || a === '*:*') details.push(`Action '${a}' allows every action of every service`);
      else if (/^[^:]+:\*$/.test(a)) details.push(`Action '${a}' allows every ${a.slice(0, -2)} action`);
      else if (/[*?]/.test(a))
        details.push(`Action '${a}' is a pattern that matches more than the actions NVCF needs`);
    }
    const scoped =
      'NotAction' in s ? ['every action but those listed'] : actions.filter((a) => !RESOURCELESS.has(a));
    const scopedText = scoped.some((a) => a === '*' || a === '*:*') ? 'every action' : list(scoped);
    if ('NotResource' in s)
      details.push(`NotResource applies to every resource except ${list(strings(s['NotResource']))}`);
    for (const r of strings(s['Resource'])) {
      if (r === '*' && scoped.length > 0) {
        details.push(
          `Resource '*' for ${scopedText}: repository actions must name the configured repository ARNs`,
        );
      } else if (r !== '*' && /[*?]/.test(r)) {
        details.push(
          `Resource '${r}' is a pattern that can match resources beyond the configured repositories`,
        );
      }
    }
    if (details.length > 0) findings.push({ source, statement: id, detail: details.join('; ') });
  });
  return findings;
}

function strings(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** Where a statement sits in a policy's text: offsets of its first and last character. */
export interface StatementSpan {
  readonly start: number;
  readonly end: number;
}

/**
 * The policy's text as IAM stores it: IAM's API returns documents URL-encoded (RFC 3986), the SDK does not
 * decode them; a document given as an object is serialised as `JSON.stringify` does. Positions in
 * `SimulatePrincipalPolicy`'s `MatchedStatements` refer to this text.
 */
export function policyText(document: unknown): string {
  if (typeof document !== 'string') return JSON.stringify(document ?? null);
  const text = document.trim();
  if (text.startsWith('{')) return document;
  try {
    return decodeURIComponent(text);
  } catch {
    return document;
  }
}

/**
 * The spans of the elements of the document's top-level `Statement` (one span when it is a single object),
 * in order; empty when the text is not a JSON object or has no `Statement`.
 */
export function statementSpans(text: string): StatementSpan[] {
  try {
    const spans: StatementSpan[] = [];
    let i = ws(text, 0);
    if (text[i] !== '{') return [];
    i = ws(text, i + 1);
    while (i < text.length && text[i] !== '}') {
      const keyEnd = skipValue(text, i);
      const key = JSON.parse(text.slice(i, keyEnd)) as unknown;
      i = ws(text, ws(text, keyEnd) + 1);
      const valueEnd = skipValue(text, i);
      if (key === 'Statement') {
        if (text[i] === '{') spans.push({ start: i, end: valueEnd - 1 });
        else if (text[i] === '[') {
          let j = ws(text, i + 1);
          while (text[j] !== ']') {
            const end = skipValue(text, j);
            spans.push({ start: j, end: end - 1 });
            j = ws(text, end);
            if (text[j] === ',') j = ws(text, j + 1);
          }
        }
      }
      i = ws(text, valueEnd);
      if (text[i] === ',') i = ws(text, i + 1);
    }
    return spans;
  } catch {
    return [];
  }
}

/** 1-based line and column of an offset, as IAM's `Position`. */
export function positionOf(text: string, offset: number): { Line: number; Column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { Line: line, Column: offset - before.lastIndexOf('\n') };
}

/** The offset of a 1-based line and column. */
export function offsetOf(text: string, line: number, column: number): number {
  let offset = 0;
  for (let l = 1; l < line; l++) {
    const next = text.indexOf('\n', offset);
    if (next < 0) return text.length;
    offset = next + 1;
  }
  return offset + column - 1;
}

/** How findings name a statement: its `Sid`, or `Statement[i]` (`Statement` when it is a single object). */
export function statementLabel(document: Record<string, unknown>, index: number): string {
  const raw = document['Statement'];
  const st = Array.isArray(raw) ? raw[index] : raw;
  const sid = st !== null && typeof st === 'object' ? (st as Record<string, unknown>)['Sid'] : undefined;
  if (typeof sid === 'string' && sid !== '') return sid;
  return Array.isArray(raw) ? `Statement[${index}]` : 'Statement';
}

function ws(text: string, i: number): number {
  let j = i;
  while (j < text.length && /\s/.test(text[j] as string)) j++;
  return j;
}

/** The offset just after the JSON value starting at `i` (the text is known to be JSON). */
function skipValue(text: string, i: number): number {
  const c = text[i];
  if (c === '"') {
    let j = i + 1;
    while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
    return j + 1;
  }
  if (c === '{' || c === '[') {
    const close = c === '{' ? '}' : ']';
    let j = ws(text, i + 1);
    while (j < text.length && text[j] !== close) {
      j = ws(text, skipValue(text, j));
      if (text[j] === ':' || text[j] === ',') j = ws(text, j + 1);
    }
    if (j >= text.length) throw new Error('unterminated');
    return j + 1;
  }
  let j = i;
  while (j < text.length && !/[\s,}\]]/.test(text[j] as string)) j++;
  if (j === i) throw new Error('unexpected');
  return j;
}

function list(items: readonly string[]): string {
  return items.length === 0 ? '(none)' : items.join(', ');
}
