import * as z from 'zod/mini';
import { NOTIFICATION_KEYS } from '../events/patterns.ts';

/**
 * `notifications.webhooks`: chat and HTTPS endpoints the notification events are posted to, through
 * EventBridge API destinations (`events/webhooks.ts` shapes the messages; `stacks/lib/webhooks.ts` deploys
 * them; the sandbox delivers them). How credentials are kept out of the configuration and the templates is
 * written down in `packages/core/src/events/README.md` ("Webhooks").
 */

/** Webhook names become part of resource names (`<stage>-nvcf-ecr-hook-<name>`, at most 64 characters). */
const WEBHOOK_NAME = /^[a-z0-9][a-z0-9-]{0,23}$/;
const SECRET_NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
/** The one placeholder a URL may hold: replaced by the secret's value, never written into a template. */
export const URL_SECRET_PLACEHOLDER = '{secret}';
/** HTTP header names (RFC 9110 `token`). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$/;
/** Rules a rule target list may hold besides the SNS topic (5 targets per rule, EventBridge quotas). */
export const MAX_WEBHOOKS = 4;
export const WEBHOOK_FORMATS = ['slack', 'teams', 'json'] as const;
export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number];

/**
 * Why a webhook URL is refused, or undefined. API destinations only call HTTPS endpoints on public names
 * (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-api-destinations.html); plain HTTP is allowed
 * for the sandbox's loopback listeners only, with an explicit port.
 */
export function webhookUrlProblem(url: string): string | undefined {
  const placeholders = url.split(URL_SECRET_PLACEHOLDER).length - 1;
  if (placeholders > 1) return `may hold '${URL_SECRET_PLACEHOLDER}' once at most`;
  let parsed: URL;
  try {
    parsed = new URL(url.replace(URL_SECRET_PLACEHOLDER, 'x'));
  } catch {
    return "must be an absolute URL, e.g. 'https://hooks.example.com/notify'";
  }
  if (
    placeholders === 1 &&
    url.indexOf(URL_SECRET_PLACEHOLDER) < `${parsed.protocol}//${parsed.host}/`.length
  )
    return `'${URL_SECRET_PLACEHOLDER}' may stand in the path or query only, after 'https://host/'`;
  if (parsed.username || parsed.password)
    return 'must not carry user:password: put credentials in the secret named by secretName';
  if (parsed.hash) return "must not have a '#fragment'";
  if (parsed.protocol === 'https:') return undefined;
  const loopback = parsed.hostname === '127.0.0.1' || parsed.hostname === 'localhost';
  if (parsed.protocol === 'http:' && loopback && parsed.port !== '') return undefined;
  if (parsed.protocol === 'http:' && loopback)
    return "a loopback URL needs its port, e.g. 'http://127.0.0.1:8080/hook'";
  return "must use https:// (http:// only for http://127.0.0.1:PORT or http://localhost:PORT, the sandbox's)";
}

export const webhookSchema = z
  .strictObject({
    /** Lower-case letters, digits and '-', up to 24: names the API destination and connection. */
    name: z
      .string()
      .check(z.regex(WEBHOOK_NAME, "must be 1–24 lower-case letters, digits and '-', e.g. 'platform-slack'")),
    /** The endpoint; `{secret}` in its path or query stands for the secret's value (Slack, Teams). */
    url: z.string().check(
      z.superRefine((u, ctx) => {
        const p = webhookUrlProblem(u);
        // The URL is not echoed: with a credential in it, it must not reach a log.
        if (p) ctx.addIssue({ code: 'custom', message: p, input: undefined });
      }),
    ),
    /**
     * Secrets Manager secret holding the webhook's credential: the part of the URL `{secret}` stands for, or
     * else the value of the `authHeader` header.
     */
    secretName: z.optional(
      z
        .string()
        .check(z.regex(SECRET_NAME, 'Secrets Manager names are 1–512 of letters, digits and /_+=.@-')),
    ),
    /** Header the secret's value is sent in when the URL has no `{secret}`. */
    authHeader: z._default(
      z.string().check(z.regex(HEADER_NAME, "must be an HTTP header name, e.g. 'Authorization'")),
      'Authorization',
    ),
    /** Which notifications go to this webhook (default: all). */
    events: z._default(
      z
        .array(z.enum(NOTIFICATION_KEYS))
        .check(z.minLength(1, `must list at least one of ${NOTIFICATION_KEYS.join(', ')}, or be left out`)),
      [...NOTIFICATION_KEYS],
    ),
    format: z.enum(WEBHOOK_FORMATS),
    /** Requests per second EventBridge sends at most (API destination `InvocationRateLimitPerSecond`). */
    rateLimitPerSecond: z._default(
      z
        .number()
        .check(
          z.int('must be a whole number'),
          z.gte(1, 'must be at least 1'),
          z.lte(300, 'must be at most 300'),
        ),
      1,
    ),
  })
  .check(
    z.superRefine((w, ctx) => {
      if (w.url.includes(URL_SECRET_PLACEHOLDER) && !w.secretName) {
        ctx.addIssue({
          code: 'custom',
          message: `the URL holds '${URL_SECRET_PLACEHOLDER}': set secretName to the secret that holds its value`,
          path: ['secretName'],
          input: undefined,
        });
      }
    }),
  );

export const webhooksSchema = z.array(webhookSchema).check(
  z.maxLength(
    MAX_WEBHOOKS,
    `at most ${MAX_WEBHOOKS} webhooks: each notification rule holds 5 targets, one is the SNS topic`,
  ),
  z.superRefine((hooks, ctx) => {
    const seen = new Map<string, number>();
    hooks.forEach((h, i) => {
      const other = seen.get(h.name);
      if (other !== undefined)
        ctx.addIssue({
          code: 'custom',
          message: `name '${h.name}' is already used by webhooks[${other}]: names must be unique`,
          path: [i, 'name'],
          input: h.name,
        });
      else seen.set(h.name, i);
    });
  }),
);

export type WebhookConfig = z.output<typeof webhookSchema>;
