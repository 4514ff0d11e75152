import { evaluateInputPath, inputPathProblem, renderInputTransformer } from '@nvcf-ecr/core/events';

/**
 * What a rule target receives instead of the whole event: `InputPath` (a JSONPath into the event) and
 * `InputTransformer` (values picked by JSONPath, substituted into a template). EventBridge user guide,
 * "Amazon EventBridge input transformation": paths are simple JSONPath (`$.detail.state`, `$.resources[0]`);
 * placeholders `<name>` in the template take the value of `InputPathsMap[name]` or a predefined variable,
 * quoted or not by where they stand (core `events/transform.ts` renders them, for the stacks' tests too). A
 * template that renders to JSON is delivered as JSON, any other template as a string (e.g.
 * `"Image <repo> is <verdict>"`).
 */

/** Why a path is not a JSONPath EventBridge accepts, or undefined. */
export const pathProblem = inputPathProblem;

/** The value at a JSONPath, or undefined when the path selects nothing. */
export const evaluatePath = evaluateInputPath;

export interface TransformerLike {
  InputPathsMap?: Record<string, string> | undefined;
  InputTemplate: string;
}

/** Renders an InputTransformer for one event and rule as text, as EventBridge does. */
export function renderTransformerText(
  t: TransformerLike,
  event: unknown,
  rule: { arn: string; name: string },
): string {
  return renderInputTransformer(t, event, rule);
}

/** Renders an InputTransformer: JSON when the rendering is JSON, the text otherwise. */
export function renderTransformer(
  t: TransformerLike,
  event: unknown,
  rule: { arn: string; name: string },
): unknown {
  const text = renderInputTransformer(t, event, rule);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
