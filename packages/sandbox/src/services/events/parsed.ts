/**
 * Event patterns and schedule expressions, parsed once per distinct text: every put event is matched against
 * every rule's pattern, so the backend keeps them compiled. A bad text gets EventBridge's error.
 */
import {
  type CompiledEventPattern,
  parseEventPattern,
  parseScheduleExpression,
  type Schedule,
} from '@nvcf-ecr/core/events';
import { eventsErrors } from './errors.ts';

export class ParsedExpressions {
  readonly #patterns = new Map<string, CompiledEventPattern>();
  readonly #schedules = new Map<string, Schedule>();

  /** A compiled pattern, or `InvalidEventPatternException` with EventBridge's reason. */
  pattern(text: string): CompiledEventPattern {
    let compiled = this.#patterns.get(text);
    if (!compiled) {
      const r = parseEventPattern(text);
      if (!r.ok) throw eventsErrors.invalidPattern(r.reason);
      compiled = r.pattern;
      this.#patterns.set(text, compiled);
    }
    return compiled;
  }

  /** A parsed schedule, or the ValidationException EventBridge answers for a bad expression. */
  schedule(expression: string): Schedule {
    let s = this.#schedules.get(expression);
    if (!s) {
      const r = parseScheduleExpression(expression);
      if (!r.ok) throw eventsErrors.invalidSchedule();
      s = r.schedule;
      this.#schedules.set(expression, s);
    }
    return s;
  }
}
