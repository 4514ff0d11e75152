import { ScheduleExpressionError } from '../errors.ts';

/**
 * EventBridge schedule expressions (`rate(...)`, six-field `cron(...)`, always UTC), parsed into data and
 * evaluated: when does a schedule fire next? Used by the sandbox's EventBridge to fire scheduled rules on its
 * virtual clock (and available to any emulator evaluating the same syntax, e.g. rotation schedules).
 *
 * Syntax from the EventBridge user guide, "Schedule expressions for rules"
 * (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html):
 * - `rate(value unit)`: a positive whole number; unit `minute`/`hour`/`day` when the value is 1, the plural
 *   otherwise. The period starts when the rule is created (the `anchor`).
 * - `cron(minutes hours day-of-month month day-of-week year)`: `,` lists, `-` ranges, `*` all, `/` steps;
 *   months 1–12 or JAN–DEC; days of week 1–7 (1 = Sunday) or SUN–SAT; years 1970–2199. Day-of-month also
 *   takes `L` (last day), `W` (nearest weekday, `15W`, `LW`); day-of-week `L` (`6L`: the last Friday) and
 *   `#` (`2#1`: the first Monday). Exactly one of day-of-month and day-of-week must be `?`.
 */

export type RateUnit = 'minute' | 'hour' | 'day';

export interface RateSchedule {
  readonly kind: 'rate';
  readonly expression: string;
  readonly value: number;
  readonly unit: RateUnit;
  readonly periodMs: number;
}

/** One day-of-month item. */
type DomItem =
  | { kind: 'day'; day: number }
  | { kind: 'last' }
  | { kind: 'last-weekday' }
  | { kind: 'nearest-weekday'; day: number };
/** One day-of-week item (weekday 1–7, 1 = Sunday). */
type DowItem =
  | { kind: 'weekday'; weekday: number }
  | { kind: 'last-of-month'; weekday: number }
  | { kind: 'nth'; weekday: number; nth: number };

export interface CronSchedule {
  readonly kind: 'cron';
  readonly expression: string;
  readonly minutes: readonly number[];
  readonly hours: readonly number[];
  /** `undefined` when the field is `?`. */
  readonly daysOfMonth: readonly DomItem[] | undefined;
  readonly months: ReadonlySet<number>;
  readonly daysOfWeek: readonly DowItem[] | undefined;
  /** `undefined` for `*`. */
  readonly years: ReadonlySet<number> | undefined;
}

export type Schedule = RateSchedule | CronSchedule;

export type ScheduleParseResult = { ok: true; schedule: Schedule } | { ok: false; reason: string };

const RATE = /^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$/;
const CRON = /^cron\(([^()]*)\)$/;
const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const WEEKDAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
const UNIT_MS: Record<RateUnit, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };
const MINUTE_MS = 60_000;
const LAST_YEAR = 2199;

// Helpers throw with an empty expression; parseScheduleExpression turns the reason into data.
function invalid(reason: string): never {
  throw new ScheduleExpressionError('', reason);
}

/**
 * Parses a schedule expression into data, or the reason it is invalid. Never throws for bad input.
 *
 * @example
 * parseScheduleExpression('rate(1 hour)'); // { ok: true, schedule: { kind: 'rate', periodMs: 3600000, ... } }
 * parseScheduleExpression('cron(0 12 * * ? *)'); // daily at 12:00 UTC
 */
export function parseScheduleExpression(expression: string): ScheduleParseResult {
  try {
    return { ok: true, schedule: parse(expression.trim()) };
  } catch (err) {
    if (err instanceof ScheduleExpressionError) return { ok: false, reason: err.reason };
    throw err;
  }
}

/** Like {@link parseScheduleExpression} but throws {@link ScheduleExpressionError}. */
export function assertScheduleExpression(expression: string): Schedule {
  const r = parseScheduleExpression(expression);
  if (!r.ok) throw new ScheduleExpressionError(expression, r.reason);
  return r.schedule;
}

function parse(expression: string): Schedule {
  const rate = RATE.exec(expression);
  if (rate) {
    const value = Number(rate[1]);
    const word = rate[2] as string;
    const unit = (word.endsWith('s') ? word.slice(0, -1) : word) as RateUnit;
    if (!Number.isSafeInteger(value) || value < 1) invalid('the rate value must be a positive whole number');
    if (value === 1 && word.endsWith('s')) invalid(`use the singular unit for a value of 1: rate(1 ${unit})`);
    if (value > 1 && !word.endsWith('s'))
      invalid(`use the plural unit for a value above 1: rate(${value} ${unit}s)`);
    return { kind: 'rate', expression, value, unit, periodMs: value * UNIT_MS[unit] };
  }
  const cron = CRON.exec(expression);
  if (!cron)
    invalid("must be 'rate(value unit)' or 'cron(minutes hours day-of-month month day-of-week year)'");
  const fields = (cron[1] ?? '').trim().split(/\s+/);
  if (fields.length !== 6)
    invalid(
      `cron expressions have 6 fields (minutes hours day-of-month month day-of-week year), got ${fields.length}`,
    );
  const [min, hour, dom, month, dow, year] = fields as [string, string, string, string, string, string];
  if ((dom === '?') === (dow === '?')) {
    invalid("exactly one of day-of-month and day-of-week must be '?' (the other one selects the days)");
  }
  return {
    kind: 'cron',
    expression,
    minutes: [...numbers(min, 'minutes', 0, 59)].sort((a, b) => a - b),
    hours: [...numbers(hour, 'hours', 0, 23)].sort((a, b) => a - b),
    daysOfMonth: dom === '?' ? undefined : dom.split(',').flatMap(domItems),
    months: numbers(month, 'month', 1, 12, MONTHS),
    daysOfWeek: dow === '?' ? undefined : dow.split(',').flatMap(dowItems),
    years: year === '*' ? undefined : numbers(year, 'year', 1970, LAST_YEAR),
  };
}

/** Expands a numeric cron field (`*`, `n`, `a-b`, `*\/s`, `a/s`, `a-b/s`, lists) into its values. */
function numbers(
  field: string,
  name: string,
  lo: number,
  hi: number,
  names?: readonly string[],
): Set<number> {
  const out = new Set<number>();
  for (const item of field.split(',')) {
    const [range, stepText, extra] = item.split('/');
    if (extra !== undefined || range === undefined || range === '')
      invalid(`${name}: '${item}' is not a valid value`);
    const step = stepText === undefined ? 1 : whole(stepText, name);
    if (step < 1) invalid(`${name}: the step in '${item}' must be at least 1`);
    let start: number;
    let end: number;
    if (range === '*') {
      start = lo;
      end = hi;
    } else if (range.includes('-')) {
      const [a, b, more] = range.split('-');
      if (more !== undefined) invalid(`${name}: '${item}' is not a valid range`);
      start = value(a ?? '', name, lo, hi, names);
      end = value(b ?? '', name, lo, hi, names);
    } else {
      start = value(range, name, lo, hi, names);
      end = stepText === undefined ? start : hi;
    }
    // A range that wraps (FRI-MON, NOV-FEB) runs to the top and restarts at the bottom.
    const span = end >= start ? end - start : end + (hi - lo + 1) - start;
    for (let i = 0; i <= span; i += step) out.add(((start - lo + i) % (hi - lo + 1)) + lo);
  }
  return out;
}

function whole(text: string, name: string): number {
  if (!/^\d+$/.test(text)) invalid(`${name}: '${text}' is not a whole number`);
  return Number(text);
}

function value(text: string, name: string, lo: number, hi: number, names?: readonly string[]): number {
  const named = names?.indexOf(text.toUpperCase()) ?? -1;
  const n = named >= 0 ? named + 1 : whole(text, name);
  if (n < lo || n > hi) invalid(`${name}: ${text} is outside ${lo}-${hi}`);
  return n;
}

function domItems(item: string): DomItem[] {
  if (item === 'L') return [{ kind: 'last' }];
  if (item === 'LW') return [{ kind: 'last-weekday' }];
  const w = /^(\d+)W$/.exec(item);
  if (w) {
    const day = Number(w[1]);
    if (day < 1 || day > 31) invalid(`day-of-month: ${item} is outside 1-31`);
    return [{ kind: 'nearest-weekday', day }];
  }
  return [...numbers(item, 'day-of-month', 1, 31)].map((day): DomItem => ({ kind: 'day', day }));
}

function dowItems(item: string): DowItem[] {
  const nth = /^([A-Za-z]{3}|\d)#(\d)$/.exec(item);
  if (nth) {
    const n = Number(nth[2]);
    if (n < 1 || n > 5) invalid(`day-of-week: the occurrence in '${item}' must be 1-5`);
    return [{ kind: 'nth', weekday: value(nth[1] ?? '', 'day-of-week', 1, 7, WEEKDAYS), nth: n }];
  }
  if (item === 'L') return [{ kind: 'weekday', weekday: 7 }];
  const last = /^([A-Za-z]{3}|\d)L$/.exec(item);
  if (last) return [{ kind: 'last-of-month', weekday: value(last[1] ?? '', 'day-of-week', 1, 7, WEEKDAYS) }];
  return [...numbers(item, 'day-of-week', 1, 7, WEEKDAYS)].map((weekday) => ({ kind: 'weekday', weekday }));
}

/**
 * The first time strictly after `after` at which the schedule fires, or `undefined` when it never fires
 * again (a cron whose years are over). Rate schedules count whole periods from `anchor` (when the rule was
 * created or enabled; default `after`), as EventBridge does; cron schedules fire on whole UTC minutes.
 *
 * @example
 * nextScheduleTime(assertScheduleExpression('rate(1 day)'), new Date('2025-01-01T00:00:30Z'),
 *   new Date('2025-01-01T00:00:00Z')); // 2025-01-02T00:00:00Z
 */
export function nextScheduleTime(schedule: Schedule, after: Date, anchor: Date = after): Date | undefined {
  const t = after.getTime();
  if (schedule.kind === 'rate') {
    const a = anchor.getTime();
    const periods = t < a ? 0 : Math.floor((t - a) / schedule.periodMs) + 1;
    return new Date(a + periods * schedule.periodMs);
  }
  return nextCron(schedule, t);
}

function nextCron(s: CronSchedule, afterMs: number): Date | undefined {
  // Start at the first whole minute strictly after `after`.
  const start = new Date(Math.floor(afterMs / MINUTE_MS) * MINUTE_MS + MINUTE_MS);
  for (let year = start.getUTCFullYear(); year <= LAST_YEAR; year++) {
    if (s.years && !s.years.has(year)) continue;
    const firstMonth = year === start.getUTCFullYear() ? start.getUTCMonth() + 1 : 1;
    for (let month = firstMonth; month <= 12; month++) {
      if (!s.months.has(month)) continue;
      const sameMonth = year === start.getUTCFullYear() && month === start.getUTCMonth() + 1;
      const days = daysIn(year, month);
      for (let day = sameMonth ? start.getUTCDate() : 1; day <= days; day++) {
        if (!dayMatches(s, year, month, day)) continue;
        const sameDay = sameMonth && day === start.getUTCDate();
        for (const hour of s.hours) {
          if (sameDay && hour < start.getUTCHours()) continue;
          for (const minute of s.minutes) {
            const at = Date.UTC(year, month - 1, day, hour, minute);
            if (at >= start.getTime()) return new Date(at);
          }
        }
      }
    }
  }
  return undefined;
}

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** 1 = Sunday … 7 = Saturday. */
function weekdayOf(year: number, month: number, day: number): number {
  return new Date(Date.UTC(year, month - 1, day)).getUTCDay() + 1;
}

function dayMatches(s: CronSchedule, year: number, month: number, day: number): boolean {
  const last = daysIn(year, month);
  if (s.daysOfMonth) {
    return s.daysOfMonth.some((item) => {
      switch (item.kind) {
        case 'day':
          return item.day === day;
        case 'last':
          return day === last;
        case 'last-weekday':
          return day === nearestWeekday(year, month, last);
        case 'nearest-weekday':
          return item.day <= last && day === nearestWeekday(year, month, item.day);
        default:
          return false;
      }
    });
  }
  const weekday = weekdayOf(year, month, day);
  return (s.daysOfWeek ?? []).some((item) => {
    if (item.weekday !== weekday) return false;
    switch (item.kind) {
      case 'weekday':
        return true;
      case 'last-of-month':
        return day + 7 > last;
      case 'nth':
        return Math.ceil(day / 7) === item.nth;
      default:
        return false;
    }
  });
}

/** The weekday nearest to `day` without leaving the month (Quartz's `W`, which EventBridge follows). */
function nearestWeekday(year: number, month: number, day: number): number {
  const wd = weekdayOf(year, month, day);
  const last = daysIn(year, month);
  if (wd === 7) return day === 1 ? 3 : day - 1; // Saturday → Friday, or Monday the 3rd
  if (wd === 1) return day === last ? day - 2 : day + 1; // Sunday → Monday, or Friday before
  return day;
}
