import { rotationScheduleProblem } from '@nvcf-ecr/core/config';
import { smErrors } from './errors.ts';

/**
 * Rotation schedules (`RotationRules`) evaluated on the virtual clock. The rules come from
 * https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_RotationRulesType.html and
 * `awsdocs/aws-secrets-manager-docs:doc_source/rotate-secrets_schedule.md`:
 * - `AutomaticallyAfterDays` and `rate(N days)`: "the rotation window starts at midnight" and the next date
 *   is "based on the previous rotation", so the window opens at 00:00 UTC N days after the day of the last
 *   rotation; by default it closes at the end of that UTC day.
 * - `rate(N hours)` (at least 4): the window opens N hours after the hour of the last rotation and closes
 *   after one hour by default. How AWS aligns hourly windows is not documented; this is our choice.
 * - `cron(0 H DOM MON DOW *)` (UTC, minutes 0, any year): windows open at every matching hour; an hourly
 *   cron's window closes after one hour, a daily one's at the end of the UTC day.
 * - `Duration` (`Nh`) overrides the window length; it "must not extend into the next rotation window or the
 *   next UTC day".
 * Secrets Manager rotates "any time during the window"; the sandbox rotates as soon as a window opens, which
 * makes tests deterministic.
 */

export interface RotationRules {
  AutomaticallyAfterDays?: number | undefined;
  ScheduleExpression?: string | undefined;
  Duration?: string | undefined;
}

/** A rotation window, epoch milliseconds, end exclusive. */
export interface RotationWindow {
  start: number;
  end: number;
}

export interface RotationSchedule {
  /** The first window that opens after the window (hour, or day) that contains `baseMs`. */
  nextWindow(baseMs: number): RotationWindow;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const startOfDay = (ms: number): number => Math.floor(ms / DAY) * DAY;
const startOfHour = (ms: number): number => Math.floor(ms / HOUR) * HOUR;

/**
 * Validates `rules` and returns their schedule; throws Secrets Manager's InvalidParameterException. `nowMs`
 * (virtual time) is where a cron's first window is checked against its Duration.
 */
export function parseRotationRules(rules: RotationRules, nowMs: number): RotationSchedule {
  const { AutomaticallyAfterDays: days, ScheduleExpression: expression, Duration: duration } = rules;
  if (days !== undefined && expression !== undefined) throw smErrors.bothRotationRules();
  const durationHours = duration === undefined ? undefined : parseDuration(duration);
  if (days !== undefined) {
    if (!Number.isInteger(days) || days < 1 || days > 1000) throw smErrors.rotationDaysRange();
    return daily(days, durationHours);
  }
  if (expression === undefined) {
    throw smErrors.invalidSchedule(
      'RotationRules must set AutomaticallyAfterDays or ScheduleExpression, e.g. {"ScheduleExpression": "rate(30 days)"}.',
    );
  }
  const problem = rotationScheduleProblem(expression);
  if (problem) throw smErrors.invalidSchedule(`Invalid ScheduleExpression '${expression}': ${problem}.`);
  const rate = /^rate\((\d+) (hour|hours|day|days)\)$/.exec(expression);
  if (rate) {
    const n = Number(rate[1]);
    if (rate[2]?.startsWith('day')) return daily(n, durationHours);
    if (durationHours !== undefined && durationHours > n) {
      throw smErrors.invalidSchedule(
        `Duration ${duration} extends into the next rotation window of ${expression}: use at most ${n}h.`,
      );
    }
    return { nextWindow: (base) => window(startOfHour(base) + n * HOUR, durationHours ?? 1) };
  }
  return cronSchedule(expression, durationHours, nowMs);
}

function parseDuration(duration: string): number {
  const m = /^(\d{1,2})h$/.exec(duration);
  const hours = m ? Number(m[1]) : 0;
  if (hours < 1 || hours > 24) {
    throw smErrors.invalidSchedule(
      `Invalid Duration '${duration}': give whole hours from 1h to 24h, e.g. '3h'.`,
    );
  }
  return hours;
}

function window(start: number, hours: number): RotationWindow {
  return { start, end: start + hours * HOUR };
}

function daily(days: number, durationHours: number | undefined): RotationSchedule {
  return { nextWindow: (base) => window(startOfDay(base) + days * DAY, durationHours ?? 24) };
}

/** One cron field as the set of values it allows (`*` and `?` allow all). */
interface CronField {
  any: boolean;
  values: Set<number>;
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
// AWS cron numbers days of the week 1-7 from Sunday.
const WEEKDAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

function cronField(text: string, min: number, max: number, names: string[], label: string): CronField {
  if (text === '*' || text === '?') return { any: true, values: new Set() };
  const values = new Set<number>();
  const value = (token: string): number => {
    const named = names.indexOf(token.toUpperCase());
    const n = named >= 0 ? named + min : /^\d+$/.test(token) ? Number(token) : Number.NaN;
    if (!Number.isInteger(n) || n < min || n > max) {
      throw smErrors.invalidSchedule(
        `Invalid ${label} '${token}' in the cron expression: use ${min}-${max}${names.length > 0 ? ` or ${names[0]}-${names.at(-1)}` : ''}.`,
      );
    }
    return n;
  };
  for (const part of text.split(',')) {
    const [range = '', stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1)
      throw smErrors.invalidSchedule(`Invalid step '${stepText}' in the cron ${label} field.`);
    let from: number;
    let to: number;
    if (range === '*') {
      from = min;
      to = max;
    } else if (range.includes('-')) {
      const [a = '', b = ''] = range.split('-');
      from = value(a);
      to = value(b);
    } else {
      from = value(range);
      to = stepText === undefined ? from : max;
    }
    if (from > to)
      throw smErrors.invalidSchedule(
        `Invalid range '${range}' in the cron ${label} field: the start must not be after the end.`,
      );
    for (let v = from; v <= to; v += step) values.add(v);
  }
  return { any: false, values };
}

const MAX_CRON_SEARCH_HOURS = 5 * 366 * 24;

function cronSchedule(
  expression: string,
  durationHours: number | undefined,
  nowMs: number,
): RotationSchedule {
  const fields = (/^cron\((.+)\)$/.exec(expression)?.[1] ?? '').trim().split(/\s+/);
  const [, hourText = '', domText = '', monthText = '', dowText = ''] = fields;
  for (const [text, what] of [
    [domText, 'day-of-month'],
    [dowText, 'day-of-week'],
  ] as const) {
    if (/[LW#]/.test(text)) {
      throw smErrors.invalidSchedule(
        `The sandbox does not evaluate L, W or # in the cron ${what} field ('${text}'): list the days explicitly.`,
      );
    }
  }
  const hours = cronField(hourText, 0, 23, [], 'hour');
  const dom = cronField(domText, 1, 31, [], 'day-of-month');
  const month = cronField(monthText, 1, 12, MONTHS, 'month');
  const dow = cronField(dowText, 1, 7, WEEKDAYS, 'day-of-week');
  const matches = (t: number): boolean => {
    const d = new Date(t);
    const ok = (f: CronField, v: number) => f.any || f.values.has(v);
    return (
      ok(hours, d.getUTCHours()) &&
      ok(dom, d.getUTCDate()) &&
      ok(month, d.getUTCMonth() + 1) &&
      ok(dow, d.getUTCDay() + 1)
    );
  };
  // A schedule "in hours" fires more than once a day: its default window is one hour, not the rest of the day.
  const hourly = hours.any || hours.values.size > 1;
  const next = (after: number): number => {
    for (let t = startOfHour(after) + HOUR, i = 0; i < MAX_CRON_SEARCH_HOURS; t += HOUR, i++) {
      if (matches(t)) return t;
    }
    throw smErrors.invalidSchedule(`The cron expression ${expression} never matches within five years.`);
  };
  const windowAt = (start: number): RotationWindow => {
    const endOfDay = startOfDay(start) + DAY;
    if (durationHours === undefined) return { start, end: hourly ? start + HOUR : endOfDay };
    return window(start, durationHours);
  };
  // Check the rules once, on the first window from now on: the Duration must stay inside the UTC day and
  // before the next window.
  const first = next(nowMs);
  const w = windowAt(first);
  if (w.end > startOfDay(first) + DAY) {
    throw smErrors.invalidSchedule(
      `Duration ${durationHours}h makes the window of ${expression} extend into the next UTC day.`,
    );
  }
  if (w.end > next(first)) {
    throw smErrors.invalidSchedule(
      `Duration ${durationHours}h makes the window of ${expression} extend into the next rotation window.`,
    );
  }
  return { nextWindow: (base) => windowAt(next(base)) };
}
