import { BlockList, isIP } from 'node:net';
import { EventPatternError } from '../errors.ts';

/**
 * EventBridge event patterns: validation and matching, shared by the stacks' tests (does the rule we deploy
 * match the events we expect?) and the sandbox's EventBridge (which rules does an event trigger?).
 *
 * Semantics follow the EventBridge user guide, "Content filtering in Amazon EventBridge event patterns"
 * (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-content-based-filtering.html),
 * "Matching null values and empty strings" and "Arrays in event patterns", and Event Ruler's README
 * (aws/event-ruler, the matching library EventBridge runs) where the guide is silent:
 * - every field named in the pattern must match (AND); a field matches when any value in its list matches
 *   (OR); `$or` (an array of two or more sub-patterns) matches when any sub-pattern matches;
 * - an array in the event matches when any element matches ("crushed out" arrays), and fields under one
 *   object pattern must match within the same array element (Event Ruler's array-consistent matching);
 * - `null` and `""` are distinct values; `exists` works on leaf values only, so `{"exists": false}`
 *   matches a missing field and a field that holds an object; `anything-but` never matches a missing field;
 * - `prefix`, `suffix`, `equals-ignore-case`, `wildcard` only match strings; `numeric` only numbers, within
 *   ±5.0e9 (Event Ruler's limit); exact numbers compare numerically (`300` matches `3.0e2`);
 * - a key given twice keeps the last value (JSON.parse does the same, and the guide says so).
 *
 * Invalid patterns are reported with the reason EventBridge would append to "Event pattern is not valid.
 * Reason: " (Event Ruler's wording where it is known, e.g. `"source" must be an object or an array`).
 */

/** An event pattern as JSON (what `PutRule` takes as `EventPattern`, parsed). */
export type EventPattern = { readonly [field: string]: unknown };

type Scalar = string | number | boolean | null;

type Leaf =
  | { readonly kind: 'exact'; readonly value: Scalar }
  | { readonly kind: 'prefix' | 'suffix'; readonly value: string; readonly ignoreCase: boolean }
  | { readonly kind: 'equals-ignore-case'; readonly value: string }
  | { readonly kind: 'wildcard'; readonly regex: RegExp }
  | { readonly kind: 'anything-but'; readonly excludes: (v: Scalar) => boolean }
  | { readonly kind: 'numeric'; readonly conditions: readonly (readonly [NumericOp, number])[] }
  | { readonly kind: 'exists'; readonly value: boolean }
  | { readonly kind: 'cidr'; readonly list: BlockList };

type NumericOp = '=' | '<' | '<=' | '>' | '>=';

interface Node {
  readonly fields: readonly (readonly [string, readonly Leaf[] | Node])[];
  /** Each entry is one `$or`: at least one of its alternatives must match. */
  readonly ors: readonly (readonly Node[])[];
}

/** Operators Event Ruler reserves; an object using one of them is a matcher, not a nested field. */
const OPERATORS = [
  'prefix',
  'suffix',
  'equals-ignore-case',
  'wildcard',
  'anything-but',
  'numeric',
  'exists',
  'cidr',
];

/** Event Ruler limits numeric matching to ±5.0e9 (README, "Numeric matching"). */
const NUMERIC_LIMIT = 5.0e9;

/** A validated pattern, ready to match events. */
export class CompiledEventPattern {
  /** The pattern as given (parsed JSON). */
  public readonly pattern: EventPattern;
  readonly #root: Node;

  public constructor(pattern: EventPattern, root: Node) {
    this.pattern = pattern;
    this.#root = root;
  }

  /** True when `event` (an EventBridge envelope, or any JSON value) matches the pattern. */
  public matches(event: unknown): boolean {
    return matchNode(this.#root, event);
  }
}

export type EventPatternParseResult =
  | { ok: true; pattern: CompiledEventPattern }
  | { ok: false; reason: string };

/**
 * Validates an event pattern (JSON text or parsed object) into data: the compiled pattern, or the reason it
 * is invalid. Never throws for bad input.
 *
 * @example
 * const r = parseEventPattern('{"source":["aws.ecr"]}');
 * if (r.ok) r.pattern.matches({ source: 'aws.ecr' }); // true
 */
export function parseEventPattern(input: string | EventPattern): EventPatternParseResult {
  let value: unknown = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch {
      return { ok: false, reason: 'Invalid JSON' };
    }
  }
  if (!isPlainObject(value)) return { ok: false, reason: 'Filter is not an object' };
  try {
    return { ok: true, pattern: new CompiledEventPattern(value, compileNode(value)) };
  } catch (err) {
    if (err instanceof EventPatternError) return { ok: false, reason: err.reason };
    throw err;
  }
}

/** Like {@link parseEventPattern} but throws {@link EventPatternError} for an invalid pattern. */
export function compileEventPattern(input: string | EventPattern): CompiledEventPattern {
  const r = parseEventPattern(input);
  if (!r.ok) throw new EventPatternError(r.reason);
  return r.pattern;
}

/**
 * Whether `event` matches `pattern`. Throws {@link EventPatternError} when the pattern is invalid.
 *
 * @example
 * matchesEventPattern({ detail: { result: ['SUCCESS'] } }, { detail: { result: 'SUCCESS' } }); // true
 */
export function matchesEventPattern(pattern: EventPattern | CompiledEventPattern, event: unknown): boolean {
  const compiled = pattern instanceof CompiledEventPattern ? pattern : compileEventPattern(pattern);
  return compiled.matches(event);
}

// ---------------------------------------------------------------------------------------------------------
// Compilation

function fail(reason: string): never {
  throw new EventPatternError(reason);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function compileNode(obj: Record<string, unknown>): Node {
  const fields: (readonly [string, readonly Leaf[] | Node])[] = [];
  const ors: Node[][] = [];
  for (const [key, value] of Object.entries(obj)) {
    if (key === '$or' && isOrPrimitive(value)) {
      ors.push((value as Record<string, unknown>[]).map((alt) => compileNode(alt)));
      continue;
    }
    if (Array.isArray(value)) fields.push([key, compileLeaves(key, value)]);
    else if (isPlainObject(value)) fields.push([key, compileNode(value)]);
    else fail(`"${key}" must be an object or an array`);
  }
  return { fields, ors };
}

/**
 * Event Ruler treats `$or` as the OR primitive only for an array of two or more objects whose keys are not
 * operators (README, "The $or Primitive"); anything else is an ordinary field named `$or`.
 */
function isOrPrimitive(value: unknown): boolean {
  return (
    Array.isArray(value) &&
    value.length >= 2 &&
    value.every(
      (alt) =>
        isPlainObject(alt) &&
        Object.keys(alt).length > 0 &&
        !Object.keys(alt).some((k) => OPERATORS.includes(k)),
    )
  );
}

function compileLeaves(key: string, values: readonly unknown[]): Leaf[] {
  if (values.length === 0) fail(`Empty arrays are not allowed: "${key}"`);
  return values.map((v) => {
    if (v === null || typeof v === 'string' || typeof v === 'boolean') return { kind: 'exact', value: v };
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) fail(`"${key}": numbers must be finite`);
      return { kind: 'exact', value: v };
    }
    if (isPlainObject(v)) return compileOperator(key, v);
    return fail(`Match value must be String, number, true, false, or null: "${key}"`);
  });
}

function compileOperator(key: string, obj: Record<string, unknown>): Leaf {
  const keys = Object.keys(obj);
  if (keys.length !== 1) fail(`Only one key allowed in match expression: "${key}"`);
  const op = keys[0] as string;
  const arg = obj[op];
  switch (op) {
    case 'prefix':
    case 'suffix': {
      if (typeof arg === 'string') return { kind: op, value: arg, ignoreCase: false };
      if (
        isPlainObject(arg) &&
        Object.keys(arg).length === 1 &&
        typeof arg['equals-ignore-case'] === 'string'
      ) {
        return { kind: op, value: arg['equals-ignore-case'] as string, ignoreCase: true };
      }
      return fail(`${op} match pattern must be a string or {"equals-ignore-case": string}: "${key}"`);
    }
    case 'equals-ignore-case':
      if (typeof arg !== 'string') fail(`equals-ignore-case match pattern must be a string: "${key}"`);
      return { kind: 'equals-ignore-case', value: arg as string };
    case 'wildcard':
      if (typeof arg !== 'string') fail(`wildcard match pattern must be a string: "${key}"`);
      return { kind: 'wildcard', regex: wildcardRegex(key, arg as string) };
    case 'anything-but':
      return { kind: 'anything-but', excludes: compileAnythingBut(key, arg) };
    case 'numeric':
      return { kind: 'numeric', conditions: compileNumeric(key, arg) };
    case 'exists':
      if (typeof arg !== 'boolean') fail(`exists match pattern must be either true or false: "${key}"`);
      return { kind: 'exists', value: arg as boolean };
    case 'cidr':
      return { kind: 'cidr', list: compileCidr(key, arg) };
    default:
      return fail(`Unrecognized match type ${op}: "${key}"`);
  }
}

/**
 * `*` matches any run of characters; `\*` is a literal asterisk and `\\` a literal backslash; any other
 * escape, and two consecutive wildcards, are invalid (Event Ruler README, "Wildcard matching").
 */
function wildcardRegex(key: string, text: string): RegExp {
  let source = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c === '\\') {
      const next = text[i + 1];
      if (next !== '*' && next !== '\\')
        fail(`Invalid escape character at pos ${i} of wildcard pattern: "${key}"`);
      source += `\\${next}`;
      i++;
    } else if (c === '*') {
      if (text[i + 1] === '*')
        fail(`Consecutive wildcard characters at pos ${i + 1} of wildcard pattern: "${key}"`);
      source += '.*';
    } else {
      source += c.replace(/[.+?^${}()|[\]\\/-]/g, '\\$&');
    }
  }
  return new RegExp(`^${source}$`, 's');
}

/**
 * `anything-but` takes a string, a number, a list of only strings or only numbers, or one of `prefix`,
 * `suffix`, `equals-ignore-case` (string or list) and `wildcard` (string or list). Returns the predicate
 * "this value is excluded".
 */
function compileAnythingBut(key: string, arg: unknown): (v: Scalar) => boolean {
  if (typeof arg === 'string' || typeof arg === 'number') return (v) => v === arg;
  if (Array.isArray(arg)) {
    if (arg.length === 0) fail(`Empty arrays are not allowed: "${key}"`);
    const allStrings = arg.every((x) => typeof x === 'string');
    const allNumbers = arg.every((x) => typeof x === 'number' && Number.isFinite(x));
    if (!allStrings && !allNumbers)
      fail(`Inside anything but list, mixed types and start|null|boolean are not supported: "${key}"`);
    const set = new Set<unknown>(arg);
    return (v) => set.has(v);
  }
  if (isPlainObject(arg)) {
    const keys = Object.keys(arg);
    if (keys.length !== 1) fail(`Only one key allowed in anything-but expression: "${key}"`);
    const op = keys[0] as string;
    const inner = arg[op];
    const strings = (what: string): string[] => {
      if (typeof inner === 'string') return [inner];
      if (Array.isArray(inner) && inner.length > 0 && inner.every((x) => typeof x === 'string'))
        return inner as string[];
      return fail(
        `Value of anything-but ${what} must be a string${what === 'prefix' || what === 'suffix' ? '' : ' or a list of strings'}: "${key}"`,
      );
    };
    switch (op) {
      case 'prefix': {
        if (typeof inner !== 'string') fail(`Value of anything-but prefix must be a string: "${key}"`);
        return (v) => typeof v === 'string' && v.startsWith(inner as string);
      }
      case 'suffix': {
        if (typeof inner !== 'string') fail(`Value of anything-but suffix must be a string: "${key}"`);
        return (v) => typeof v === 'string' && v.endsWith(inner as string);
      }
      case 'equals-ignore-case': {
        const lowered = new Set(strings('equals-ignore-case').map((s) => s.toLowerCase()));
        return (v) => typeof v === 'string' && lowered.has(v.toLowerCase());
      }
      case 'wildcard': {
        const regexes = strings('wildcard').map((s) => wildcardRegex(key, s));
        return (v) => typeof v === 'string' && regexes.some((r) => r.test(v));
      }
      default:
        return fail(`Unsupported anything-but pattern: ${op}: "${key}"`);
    }
  }
  return fail(`Value of anything-but must be an array or single string/number value: "${key}"`);
}

/**
 * `numeric` takes one comparison (`=`, `<`, `<=`, `>`, `>=`) or a range: a lower bound (`>`/`>=`) followed by
 * an upper bound (`<`/`<=`), lower below upper, every number within ±5.0e9.
 */
function compileNumeric(key: string, arg: unknown): (readonly [NumericOp, number])[] {
  if (!Array.isArray(arg) || (arg.length !== 2 && arg.length !== 4)) {
    fail(`Value of numeric must be an array of one or two [operator, number] pairs: "${key}"`);
  }
  const list = arg as unknown[];
  const out: (readonly [NumericOp, number])[] = [];
  for (let i = 0; i < list.length; i += 2) {
    const op = list[i];
    const n = list[i + 1];
    if (op !== '=' && op !== '<' && op !== '<=' && op !== '>' && op !== '>=')
      fail(`Unrecognized numeric range operator: ${String(op)}: "${key}"`);
    if (typeof n !== 'number' || !Number.isFinite(n))
      fail(`Value of ${String(op)} must be numeric: "${key}"`);
    if (Math.abs(n as number) > NUMERIC_LIMIT)
      fail(`Value of ${String(op)} must be between -5.0E9 and 5.0E9 inclusive: "${key}"`);
    out.push([op as NumericOp, n as number]);
  }
  if (out.length === 2) {
    const [lo, hi] = out as [readonly [NumericOp, number], readonly [NumericOp, number]];
    if ((lo[0] !== '>' && lo[0] !== '>=') || (hi[0] !== '<' && hi[0] !== '<=')) {
      fail(
        `Bad numeric range: a range is a lower bound (> or >=) followed by an upper bound (< or <=): "${key}"`,
      );
    }
    if (lo[1] >= hi[1]) fail(`Bad numeric range: bottom must be less than top: "${key}"`);
  }
  return out;
}

function compileCidr(key: string, arg: unknown): BlockList {
  if (typeof arg !== 'string') return fail(`cidr match pattern must be a string: "${key}"`);
  const [address, bits, extra] = arg.split('/');
  const family = isIP(address ?? '');
  const prefix = bits === undefined ? (family === 6 ? 128 : 32) : Number(bits);
  const max = family === 6 ? 128 : 32;
  if (
    family === 0 ||
    extra !== undefined ||
    !Number.isInteger(prefix) ||
    prefix < 0 ||
    prefix > max ||
    (bits !== undefined && !/^\d+$/.test(bits))
  ) {
    return fail(`Nonstandard IP address: ${arg}: "${key}"`);
  }
  const list = new BlockList();
  list.addSubnet(address as string, prefix, family === 6 ? 'ipv6' : 'ipv4');
  return list;
}

// ---------------------------------------------------------------------------------------------------------
// Matching

function matchNode(node: Node, value: unknown): boolean {
  // An object pattern against an array: some element must match the whole object pattern, which keeps
  // fields of one object pattern within one array element (array-consistent matching).
  if (Array.isArray(value)) {
    const elements = value.flat(Number.POSITIVE_INFINITY);
    if (elements.length > 0) return elements.some((el) => matchNode(node, el));
    value = undefined;
  }
  const obj = isPlainObject(value) ? value : undefined;
  for (const [key, child] of node.fields) {
    const v = obj ? obj[key] : undefined;
    if (Array.isArray(child) ? !matchLeaves(child as readonly Leaf[], v) : !matchNode(child as Node, v))
      return false;
  }
  for (const alternatives of node.ors) {
    if (!alternatives.some((alt) => matchNode(alt, value))) return false;
  }
  return true;
}

/** The scalar values at a field (arrays flattened); objects are intermediate nodes and carry no value. */
function scalarsOf(v: unknown): Scalar[] {
  if (v === undefined) return [];
  if (Array.isArray(v))
    return v.flat(Number.POSITIVE_INFINITY).filter((x): x is Scalar => !isPlainObject(x) && x !== undefined);
  if (isPlainObject(v)) return [];
  return [v as Scalar];
}

function matchLeaves(leaves: readonly Leaf[], v: unknown): boolean {
  const scalars = scalarsOf(v);
  return leaves.some((leaf) => {
    if (leaf.kind === 'exists') return leaf.value ? scalars.length > 0 : scalars.length === 0;
    return scalars.some((s) => matchScalar(leaf, s));
  });
}

function matchScalar(leaf: Exclude<Leaf, { kind: 'exists' }>, s: Scalar): boolean {
  switch (leaf.kind) {
    case 'exact':
      return s === leaf.value;
    case 'prefix':
      return (
        typeof s === 'string' &&
        (leaf.ignoreCase ? s.toLowerCase().startsWith(leaf.value.toLowerCase()) : s.startsWith(leaf.value))
      );
    case 'suffix':
      return (
        typeof s === 'string' &&
        (leaf.ignoreCase ? s.toLowerCase().endsWith(leaf.value.toLowerCase()) : s.endsWith(leaf.value))
      );
    case 'equals-ignore-case':
      return typeof s === 'string' && s.toLowerCase() === leaf.value.toLowerCase();
    case 'wildcard':
      return typeof s === 'string' && leaf.regex.test(s);
    case 'anything-but':
      return !leaf.excludes(s);
    case 'numeric':
      return typeof s === 'number' && leaf.conditions.every(([op, n]) => compare(s, op, n));
    case 'cidr': {
      if (typeof s !== 'string') return false;
      const family = isIP(s);
      return family !== 0 && leaf.list.check(s, family === 6 ? 'ipv6' : 'ipv4');
    }
  }
}

function compare(v: number, op: NumericOp, n: number): boolean {
  switch (op) {
    case '=':
      return v === n;
    case '<':
      return v < n;
    case '<=':
      return v <= n;
    case '>':
      return v > n;
    case '>=':
      return v >= n;
  }
}
