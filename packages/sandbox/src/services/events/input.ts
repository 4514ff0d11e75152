/**
 * What a rule target receives instead of the whole event: `InputPath` (a JSONPath into the event) and
 * `InputTransformer` (values picked by JSONPath, substituted into a template). EventBridge user guide,
 * "Amazon EventBridge input transformation": paths are simple JSONPath (`$.detail.state`, `$.resources[0]`);
 * placeholders `<name>` in the template take the value of `InputPathsMap[name]`, plus the predefined
 * `<aws.events.rule-arn>`, `<aws.events.rule-name>`, `<aws.events.event.ingestion-time>`,
 * `<aws.events.event>` and `<aws.events.event.json>`. A template that renders to JSON is delivered as JSON,
 * any other template as a string (e.g. `"Image <repo> is <verdict>"`).
 */

type Segment = string | number;

const PATH = /^\$((\.[^.[\]]+)|(\[\d+\])|(\['[^']*'\])|(\["[^"]*"\]))*$/;

/** Why a path is not a JSONPath EventBridge accepts, or undefined. */
export function pathProblem(path: string): string | undefined {
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
export function evaluatePath(path: string, value: unknown): unknown {
  let cur: unknown = value;
  for (const s of segments(path)) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[s];
  }
  return cur;
}

export interface TransformerLike {
  InputPathsMap?: Record<string, string> | undefined;
  InputTemplate: string;
}

/** Renders an InputTransformer for one event and rule. */
export function renderTransformer(
  t: TransformerLike,
  event: { time?: string },
  rule: { arn: string; name: string },
): unknown {
  const values = new Map<string, unknown>();
  for (const [name, path] of Object.entries(t.InputPathsMap ?? {}))
    values.set(name, evaluatePath(path, event));
  values.set('aws.events.rule-arn', rule.arn);
  values.set('aws.events.rule-name', rule.name);
  values.set('aws.events.event.ingestion-time', event.time);
  values.set('aws.events.event', event);
  values.set('aws.events.event.json', event);
  const text = t.InputTemplate.replace(/<([A-Za-z0-9_.-]+)>/g, (whole, name: string) => {
    if (!values.has(name)) return whole;
    const v = values.get(name);
    if (v === undefined) return '';
    // Strings go in without their quotes (the template decides whether it is inside a JSON string), escaped
    // so that a quote in a value cannot break the JSON around it.
    return typeof v === 'string' ? JSON.stringify(v).slice(1, -1) : JSON.stringify(v);
  });
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
