import type { MiddlewareObj } from '@middy/core';
import { formatPath } from '@nvcf-ecr/core/config';
import { type ConfigIssue, EventShapeError } from '@nvcf-ecr/core/errors';
import type { Logger } from '@nvcf-ecr/core/log';
import type * as z from 'zod/mini';

/**
 * middy middlewares shared by the handlers (written as middy's own: factories with validated options and
 * named phases; per-request state in `request.internal`, never in module variables).
 */

export interface ParseEventOptions<S extends z.ZodMiniType> {
  schema: S;
  logger: Logger;
  /**
   * What a malformed event does: `throw` fails the invocation (Secrets Manager marks the rotation failed);
   * `skip` logs the problem and returns `skipResult` — for asynchronous triggers, where throwing would only
   * buy two pointless retries and a dead letter for an event that can never become valid.
   */
  onInvalid: 'throw' | 'skip';
  skipResult?: unknown;
}

/** Validates `event` against a zod schema before the handler runs; the handler receives the parsed value. */
export function parseEvent<S extends z.ZodMiniType>(
  options: ParseEventOptions<S>,
): MiddlewareObj<unknown, unknown> {
  const parseEventBefore: NonNullable<MiddlewareObj<unknown, unknown>['before']> = (request) => {
    const result = options.schema.safeParse(request.event, { reportInput: false });
    if (result.success) {
      request.event = result.data;
      return undefined;
    }
    const issues: ConfigIssue[] = result.error.issues.map((i) => ({
      path: formatPath(i.path),
      message:
        i.message !== 'Invalid input'
          ? i.message
          : i.code === 'invalid_type'
            ? `expected ${i.expected}`
            : `invalid ${i.code.replace(/^invalid_/, '').replace(/_/g, ' ')}`,
    }));
    const error = new EventShapeError(
      `Malformed event: ${issues.map((i) => `${i.path || '(root)'} ${i.message}`).join('; ')}`,
      issues,
    );
    options.logger.error(error.message, { issues });
    if (options.onInvalid === 'throw') throw error;
    return options.skipResult ?? { skipped: true, reason: error.message };
  };
  return { name: 'parseEvent', before: parseEventBefore };
}

/** Logs a failed invocation once, redacted (the logger scrubs secrets), then lets the error propagate. */
export function logErrors(logger: Logger): MiddlewareObj<unknown, unknown> {
  const logErrorsOnError: NonNullable<MiddlewareObj<unknown, unknown>['onError']> = (request) => {
    const err = request.error;
    logger.error('invocation failed', {
      error: err instanceof Error ? { name: err.name, message: err.message } : String(err),
      requestId: (request.context as { awsRequestId?: string } | undefined)?.awsRequestId,
    });
  };
  return { name: 'logErrors', onError: logErrorsOnError };
}
