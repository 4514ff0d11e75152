import { URL_SECRET_PLACEHOLDER, type WebhookConfig, type WebhookFormat } from '../config/webhooks.ts';
import type { MessageContext, NotificationMessage } from './messages.ts';
import { notificationMessages } from './messages.ts';
import type { NotificationKey } from './patterns.ts';
import type { InputTransformer } from './transform.ts';

/**
 * The input transformers that shape a notification for a webhook, built once here so that the stacks deploy
 * and the sandbox delivers the same bytes:
 *
 * - `slack`: a Slack incoming-webhook payload, `text` (the notification's fallback) and Block Kit `blocks`
 *   (header, facts as section fields, what to do, a link button)
 *   (https://docs.slack.dev/messaging/sending-messages-using-incoming-webhooks/,
 *   https://docs.slack.dev/reference/block-kit/blocks/section-block/);
 * - `teams`: the message a Teams workflow ("Post to a channel when a webhook request is received") takes:
 *   `type: message` with one Adaptive Card attachment (TextBlocks, a FactSet, an OpenUrl action)
 *   (https://learn.microsoft.com/en-us/microsoftteams/platform/webhooks-and-connectors/how-to/add-incoming-webhook,
 *   https://adaptivecards.io/explorer/FactSet.html);
 * - `json`: the notification as data, with the event's whole `detail`, for any HTTPS endpoint.
 *
 * Literal text is JSON-encoded; facts and links follow the placement rules of `messages.ts`.
 */

/** Name of a webhook's connection and API destination, before the stage prefix. */
export function webhookDestinationName(hook: string): string {
  return `nvcf-ecr-hook-${hook}`;
}

/** The queue undeliverable webhook messages go to, before the stage prefix. */
export const WEBHOOK_DEAD_LETTER_QUEUE_NAME = 'nvcf-ecr-webhook-dead-letters';

/**
 * The retry policy of every webhook target: EventBridge retries 429, 5xx and time-outs
 * (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-api-destinations.html) with back-off; a
 * chat message older than two hours is stale, so it goes to the dead-letter queue (and its alarm) instead.
 */
export const WEBHOOK_RETRY_POLICY = { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 2 * 3600 } as const;

/** Variables the `json` format adds to a message's own. */
const JSON_PATHS = { detailType: '$.detail-type', detail: '$.detail' } as const;

/** Literal text in a template: JSON-encoded, and free of `<`/`>` (EventBridge would read `<word>` as a variable). */
export function templateLiteral(value: string): string {
  if (/[<>]/.test(value))
    throw new Error(`Notification text may not contain '<' or '>' (EventBridge placeholders): ${value}`);
  return JSON.stringify(value);
}

/** A fact's value: a lone variable as a JSON value, anything else as a JSON string holding the variables. */
export function templateValue(value: string): string {
  if (/^<[A-Za-z0-9_.-]+>$/.test(value)) return value;
  return JSON.stringify(value);
}

/** The input transformer of one notification for one webhook format. */
export function webhookTransformer(
  format: WebhookFormat,
  key: NotificationKey,
  ctx: MessageContext,
): InputTransformer {
  const message = notificationMessages(ctx)[key];
  switch (format) {
    case 'slack':
      return { InputPathsMap: { ...message.paths }, InputTemplate: slackTemplate(message) };
    case 'teams':
      return { InputPathsMap: { ...message.paths }, InputTemplate: teamsTemplate(message) };
    case 'json':
      return {
        InputPathsMap: { ...message.paths, ...JSON_PATHS },
        InputTemplate: jsonTemplate(key, message, ctx),
      };
  }
}

function object(fields: readonly (readonly [string, string])[]): string {
  return `{${fields.map(([k, v]) => `${JSON.stringify(k)}: ${v}`).join(', ')}}`;
}

function list(items: readonly string[]): string {
  return `[${items.join(', ')}]`;
}

function slackTemplate(m: NotificationMessage): string {
  const text = (type: 'plain_text' | 'mrkdwn', value: string) =>
    object([
      ['type', JSON.stringify(type)],
      ['text', value],
    ]);
  const fields = m.facts.flatMap(([label, value]) => [
    text('mrkdwn', templateLiteral(`*${label}*`)),
    // Values as plain text: Slack would read `<…>`, `*` and `&` in a failure's reason as mrkdwn markup.
    text('plain_text', templateValue(value)),
  ]);
  const blocks = [
    object([
      ['type', '"header"'],
      ['text', text('plain_text', templateLiteral(m.headline.slice(0, 150)))],
    ]),
    // Slack allows 10 fields per section: labels and values alternate, so facts fill two columns.
    object([
      ['type', '"section"'],
      ['fields', list(fields.slice(0, 10))],
    ]),
    object([
      ['type', '"section"'],
      ['text', text('mrkdwn', templateLiteral(`*What to do:* ${m.action}`))],
    ]),
    object([
      ['type', '"actions"'],
      [
        'elements',
        list([
          object([
            ['type', '"button"'],
            ['text', text('plain_text', templateLiteral(m.link.title))],
            ['url', JSON.stringify(m.link.url)],
          ]),
        ]),
      ],
    ]),
  ];
  return object([
    ['text', templateLiteral(m.headline)],
    ['blocks', list(blocks)],
  ]);
}

function teamsTemplate(m: NotificationMessage): string {
  const facts = m.facts.map(([label, value]) =>
    object([
      ['title', templateLiteral(label)],
      ['value', templateValue(value)],
    ]),
  );
  const card = object([
    ['$schema', '"http://adaptivecards.io/schemas/adaptive-card.json"'],
    ['type', '"AdaptiveCard"'],
    ['version', '"1.4"'],
    [
      'body',
      list([
        object([
          ['type', '"TextBlock"'],
          ['text', templateLiteral(m.headline)],
          ['weight', '"Bolder"'],
          ['size', '"Medium"'],
          ['wrap', 'true'],
        ]),
        object([
          ['type', '"FactSet"'],
          ['facts', list(facts)],
        ]),
        object([
          ['type', '"TextBlock"'],
          ['text', templateLiteral(`What to do: ${m.action}`)],
          ['wrap', 'true'],
        ]),
      ]),
    ],
    [
      'actions',
      list([
        object([
          ['type', '"Action.OpenUrl"'],
          ['title', templateLiteral(m.link.title)],
          ['url', JSON.stringify(m.link.url)],
        ]),
      ]),
    ],
  ]);
  return object([
    ['type', '"message"'],
    [
      'attachments',
      list([
        object([
          ['contentType', '"application/vnd.microsoft.card.adaptive"'],
          ['contentUrl', 'null'],
          ['content', card],
        ]),
      ]),
    ],
  ]);
}

function jsonTemplate(key: NotificationKey, m: NotificationMessage, ctx: MessageContext): string {
  return object([
    ['notification', templateLiteral(key)],
    ['headline', templateLiteral(m.headline)],
    ['whatToDo', templateLiteral(m.action)],
    ['link', JSON.stringify(m.link.url)],
    ...(ctx.stage ? ([['stage', templateLiteral(ctx.stage)]] as const) : []),
    ['event', '<detailType>'],
    ['time', '<time>'],
    ['account', '<account>'],
    ['region', '<region>'],
    ['detail', '<detail>'],
  ]);
}

/** The header a connection sends when the webhook has no header credential: names the sender, secret-free. */
export const WEBHOOK_SENDER_HEADER = 'X-Nvcf-Ecr-Autopilot';

/** The API-key authorisation of a webhook's connection (EventBridge connections always authorise). */
export interface WebhookConnectionAuth {
  readonly header: string;
  /** True: the header's value is the secret's (`secretName`); false: {@link value}, which is no secret. */
  readonly fromSecret: boolean;
  readonly value: string;
}

/**
 * How a webhook's connection authorises. With `secretName` and no `{secret}` in the URL, the secret's value
 * goes in `authHeader` (e.g. `Authorization: Bearer …`). Otherwise the endpoint needs no header (a Slack or
 * Teams URL is its own credential), but an EventBridge connection must still carry one
 * (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_CreateConnection.html): it sends
 * {@link WEBHOOK_SENDER_HEADER} naming the sender, which the endpoint ignores.
 */
export function webhookConnectionAuth(
  hook: Pick<WebhookConfig, 'url' | 'secretName' | 'authHeader'>,
  stage?: string,
): WebhookConnectionAuth {
  if (hook.secretName && !hook.url.includes(URL_SECRET_PLACEHOLDER))
    return { header: hook.authHeader, fromSecret: true, value: '' };
  return {
    header: WEBHOOK_SENDER_HEADER,
    fromSecret: false,
    value: stage ? `nvcf-ecr-autopilot/${stage}` : 'nvcf-ecr-autopilot',
  };
}
