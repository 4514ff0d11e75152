/**
 * What the push validation does when ECR does not find the pushed image (or a part of it): look again within
 * the invocation's time, then either leave it to Lambda's asynchronous retry (the push is recent: ECR may not
 * serve it yet) or give the final `error` verdict (the push is old enough that the image must be gone).
 * packages/core/src/validation/README.md, "Failures".
 */

/** The first wait before looking again; each next wait doubles, up to {@link NOT_FOUND_MAX_DELAY_MS}. */
export const NOT_FOUND_FIRST_DELAY_MS = 500;
export const NOT_FOUND_MAX_DELAY_MS = 8_000;

/**
 * Most time one invocation spends waiting for an image to appear. Lambda's own retries (about one and three
 * minutes later) cover longer gaps without holding one of the function's ten reserved executions meanwhile.
 */
export const NOT_FOUND_MAX_WAIT_MS = 30_000;

/**
 * Time kept, out of what the invocation has left (the Lambda context's `getRemainingTimeInMillis()`), to
 * report after the last look-up: one `BatchGetImage` of the tag and one `PutEvents`, which take well under a
 * second each; a slower one fails by the SDK's 5 s request timeout and the invocation is retried anyway.
 */
export const NOT_FOUND_REPORT_RESERVE_MS = 10_000;

/**
 * How old a push (the ECR event's `time`) must be before "not found" is final. ECR sends the `ECR Image
 * Action` once the push has completed (https://docs.aws.amazon.com/AmazonECR/latest/userguide/ecr-eventbridge.html)
 * and documents no delay before `BatchGetImage` returns what was pushed, so this is our pessimistic bound for
 * its eventual consistency. It is also below the age of Lambda's last retry of an asynchronous invocation (it
 * waits one minute before the second attempt and two more before the third:
 * https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html), so the last attempt
 * always publishes a verdict instead of sending the event to the failure queue.
 */
export const NOT_FOUND_SETTLED_AFTER_MS = 120_000;

/** Where the look-ups stand after a "not found". */
export interface NotFoundState {
  /** Look-ups made so far (at least 1). */
  readonly lookups: number;
  /** Time already spent waiting in this invocation. */
  readonly waitedMs: number;
  /** Age of the push (now minus the event's `time`); `undefined` when the event had no time. */
  readonly ageMs: number | undefined;
  /** What the invocation has left, when the caller knows (the Lambda context); `undefined` otherwise. */
  readonly remainingMs: number | undefined;
}

/**
 * The next step: `wait` that long and look again; `final` (publish the `error` verdict: the push is older than
 * {@link NOT_FOUND_SETTLED_AFTER_MS}, or its age is unknown and this invocation's waits are spent); or
 * `retry-later` (the push is recent and this invocation's waits are spent: throw, so Lambda retries).
 */
export function nextNotFoundStep(
  state: NotFoundState,
):
  | { readonly step: 'wait'; readonly ms: number }
  | { readonly step: 'final' }
  | { readonly step: 'retry-later' } {
  if (state.ageMs !== undefined && state.ageMs >= NOT_FOUND_SETTLED_AFTER_MS) return { step: 'final' };
  const ms = Math.min(NOT_FOUND_FIRST_DELAY_MS * 2 ** (state.lookups - 1), NOT_FOUND_MAX_DELAY_MS);
  const withinCap = state.waitedMs + ms <= NOT_FOUND_MAX_WAIT_MS;
  const withinInvocation =
    state.remainingMs === undefined || state.remainingMs - ms >= NOT_FOUND_REPORT_RESERVE_MS;
  if (withinCap && withinInvocation) return { step: 'wait', ms };
  // Without the push's time there is no telling when ECR's window has passed: this invocation's look-ups decide.
  return state.ageMs === undefined ? { step: 'final' } : { step: 'retry-later' };
}

/** "12 s", "3 min 5 s", "2 h 1 min", "3 days", for messages. */
export function durationText(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 > 0 ? ` ${s % 60} s` : ''}`;
  if (s < 86_400)
    return `${Math.floor(s / 3600)} h${s % 3600 >= 60 ? ` ${Math.floor((s % 3600) / 60)} min` : ''}`;
  const days = Math.floor(s / 86_400);
  return `${days} day${days === 1 ? '' : 's'}`;
}
