/**
 * EventBridge input transformers: what a rule target receives when it has `InputTransformer`
 * (`InputPathsMap` + `InputTemplate`). One implementation for the sandbox's EventBridge (which renders what
 * its targets receive) and for the tests of the messages the stacks deploy, so both read a template as
 * EventBridge does. Semantics, from the user guide, "Amazon EventBridge input transformation"
 * (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html), including its
 * "Common issues with transforming input":
 *
 * - `<name>` is replaced by the value `InputPathsMap[name]` selects, or by a predefined variable:
 *   `aws.events.rule-arn`, `aws.events.rule-name`, `aws.events.event.ingestion-time`, `aws.events.event`
 *   (the event without `detail`) and `aws.events.event.json` (the whole event);
 * - outside a JSON string of the template, a string value is inserted quoted ("EventBridge automatically
 *   adds quotes to string variable values … to ensure the transformation output is valid JSON"), an object
 *   or array as JSON, numbers, booleans and null as they are;
 * - inside a JSON string of the template, a string value is inserted without quotes and NOT escaped
 *   ("EventBridge doesn't escape values extracted by Input Path"), and an object or array with its internal
 *   quotes removed (`"Detail is <detail>"` gives `"Detail is {key1: value1}"`);
 * - a variable whose path selects nothing "isn't created and won't appear in the output": it is replaced by
 *   nothing. Inside a string that leaves the text around it; outside one it can leave invalid JSON, which is
 *   why the project's templates map only fields every event of the type carries.
 * The result is text: a JSON document when the template is one, otherwise whatever the template renders to.
 */

export interface InputTransformer {
  readonly InputPathsMap?: Readonly<Record<string, string>> | undefined;
  readonly InputTemplate: string;
}

/** The rule whose target is rendered (its predefined variables). */
export interface TransformRule {
  readonly arn: string;
  readonly name: string;
}

type Segment = string | number;

const PATH = /^\$((\.[^.[\]]+)|(\[\d+\])|(\['[^']*'\])|(\["[^"]*"\]))*$/;

/** Why a path is not a JSONPath EventBridge accepts, or undefined. */
export function inputPathProblem(path: string): string | undefined {
  if (path.length === 0 || path.length > 256) return 'the path must be 1 to 256 characters';
  if (!PATH.test(path)) return `'${path}' is not a valid JsonPath: use $, $.field, $.field.sub or $.list[0]`;
  return undefined;
}

function segments(path: string): Segment[] {
  const out: Segment[] = [];
  const re = /\.([^.[\]]+)|\[(\d+)\]|\['([^']*)'\]|\["([^"]*)"\]/g;
  for (const m of path.slice(1).matchAll(re)) {
    if (m[1] !== undefined) out.push(m[1]);
    else if (m[2] !== undefined) out.push(Number(m[2]));
    else out.push((m[3] ?? m[4]) as string);
  }
  return out;
}

/** The value at a JSONPath, or undefined when the path selects nothing. */
export function evaluateInputPath(path: string, value: unknown): unknown {
  let cur: unknown = value;
  for (const s of segments(path)) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[s];
  }
  return cur;
}

const VARIABLE = /<([A-Za-z0-9_.-]+)>/y;

/**
 * Renders an input transformer for one event and rule, as text.
 *
 * @example
 * renderInputTransformer({ InputPathsMap: { s: '$.detail.state' }, InputTemplate: '{"state": <s>}' },
 *   { detail: { state: 'RUNNING' } }, rule); // '{"state": "RUNNING"}'
 */
export function renderInputTransformer(t: InputTransformer, event: unknown, rule: TransformRule): string {
  const values = variables(t, event, rule);
  const template = t.InputTemplate;
  let out = '';
  let inString = false;
  for (let i = 0; i < template.length; ) {
    const c = template[i] as string;
    if (c === '<') {
      VARIABLE.lastIndex = i;
      const m = VARIABLE.exec(template);
      const name = m?.[1];
      if (m && name !== undefined && values.has(name)) {
        out += insert(values.get(name), inString);
        i += m[0].length;
        continue;
      }
      // Not a variable, or one that selected nothing and so was never created: a defined name renders as
      // nothing, any other text stays as written.
      if (m && name !== undefined && t.InputPathsMap && Object.hasOwn(t.InputPathsMap, name)) {
        i += m[0].length;
        continue;
      }
    }
    if (inString && c === '\\') {
      out += template.slice(i, i + 2);
      i += 2;
      continue;
    }
    if (c === '"') inString = !inString;
    out += c;
    i++;
  }
  return out;
}

/** The values of every variable the template may use: mapped paths that select something, predefined ones. */
function variables(t: InputTransformer, event: unknown, rule: TransformRule): Map<string, unknown> {
  const values = new Map<string, unknown>();
  for (const [name, path] of Object.entries(t.InputPathsMap ?? {})) {
    const v = evaluateInputPath(path, event);
    if (v !== undefined) values.set(name, v);
  }
  const envelope = (event ?? {}) as Record<string, unknown>;
  const { detail: _detail, ...withoutDetail } = envelope;
  values.set('aws.events.rule-arn', rule.arn);
  values.set('aws.events.rule-name', rule.name);
  if (typeof envelope['time'] === 'string') values.set('aws.events.event.ingestion-time', envelope['time']);
  values.set('aws.events.event', withoutDetail);
  values.set('aws.events.event.json', event);
  return values;
}

function insert(value: unknown, inString: boolean): string {
  if (!inString) return JSON.stringify(value) ?? 'null';
  if (typeof value === 'string') return value;
  if (value !== null && typeof value === 'object') return JSON.stringify(value).replaceAll('"', '');
  return String(value);
}
