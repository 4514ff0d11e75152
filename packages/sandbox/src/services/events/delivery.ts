/**
 * Delivering one event to the targets of the rules it matched: a local Lambda is invoked asynchronously, an
 * API destination receives it over HTTP, anything else is only recorded. Apart from the backend so that
 * state (buses, rules, log) and transport stay separate.
 */
import type { World } from '../../world.ts';
import type { DestinationsBackend } from './destinations.ts';
import { evaluatePath, renderTransformer, renderTransformerText } from './input.ts';
import type { DeliveredTarget, EventEnvelope, RuleRecord, TargetRecord } from './records.ts';

/** Sends `event` to every target of `rules`; returns what each target got, for the event log. */
export function deliverToTargets(
  world: World,
  destinations: DestinationsBackend | undefined,
  event: EventEnvelope,
  rules: RuleRecord[],
): DeliveredTarget[] {
  const targets: DeliveredTarget[] = [];
  for (const rule of rules) {
    for (const target of rule.targets) {
      const transformed =
        target.Input !== undefined || target.InputPath !== undefined || target.InputTransformer !== undefined;
      const payload = inputFor(target, event, rule);
      const lambda = world.lambda.has(target.Arn);
      const http = !lambda && destinations?.has(target.Arn) === true;
      if (lambda) world.lambda.invokeAsync(target.Arn, payload, rule.arn);
      if (http) {
        // The request body is the rendering as text (a transformer's output need not be JSON).
        const body = target.InputTransformer
          ? renderTransformerText(target.InputTransformer, event, rule)
          : JSON.stringify(payload);
        destinations?.deliver(target, body, rule.arn, new Date(Date.parse(event.time)));
      }
      targets.push({
        rule: rule.arn,
        id: target.Id,
        arn: target.Arn,
        delivery: lambda ? 'lambda' : http ? 'api-destination' : 'recorded',
        ...(transformed ? { input: payload } : {}),
      });
    }
  }
  return targets;
}

/** What a target receives: the event, or its Input / InputPath / InputTransformer rendering. */
function inputFor(target: TargetRecord, event: EventEnvelope, rule: RuleRecord): unknown {
  if (target.Input !== undefined) return JSON.parse(target.Input) as unknown;
  // A path that selects nothing delivers null (the target is still invoked, as EventBridge does).
  if (target.InputPath !== undefined) return evaluatePath(target.InputPath, event) ?? null;
  if (target.InputTransformer !== undefined) return renderTransformer(target.InputTransformer, event, rule);
  return event;
}
