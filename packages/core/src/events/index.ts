/**
 * Events (packages/core/src/events/README.md): the project's event names and rules, EventBridge patterns
 * and how they match, publishing, schedule expressions, and notifications (messages, input transformers,
 * webhooks).
 */
export * from './messages.ts';
export * from './names.ts';
export * from './pattern.ts';
export * from './patterns.ts';
export * from './publish.ts';
export * from './schedule.ts';
export * from './transform.ts';
export * from './webhooks.ts';
