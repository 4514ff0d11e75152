/**
 * The compliance audit (packages/core/src/audit/README.md): checks with Prowler-style metadata, the runner,
 * exemptions, the report model and its renderers (JSON, Markdown, HTML, terminal table), and publishing (S3,
 * event, metrics).
 */

export {
  CACHE_REFRESH_MS,
  type CachedResolution,
  cacheKey,
  parsePack,
  RESOLUTION_CACHE_PREFIX,
  RESOLUTION_CACHE_VERSION,
  ResolutionCache,
  renderPack,
} from './cache.ts';
export * from './catalog.ts';
export { IAM_CHECKS } from './checks/iam.ts';
export { IMAGE_CHECKS, imageRef, repositoryRef } from './checks/image.ts';
export { credentialResource, NVCF_CHECKS, ngcKeyResource } from './checks/nvcf.ts';
export { PENDING_STUCK_AFTER_MS, SECRET_CHECKS } from './checks/secret.ts';
export * from './exemptions.ts';
export type { VersionKeyView } from './facts.ts';
export { coalescingFetcher, pacedFetcher } from './fetchers.ts';
export * from './functions.ts';
export { DESCRIBE_IMAGES_PAGE, type EcrAuditApi } from './images.ts';
export { AUDIT_INCOMPLETE, type AuditDeadline, incompleteFindings } from './incomplete.ts';
export * from './model.ts';
export { AdaptiveGate, isThrottling } from './pace.ts';
export * from './publish.ts';
export { renderHtml } from './render/html.ts';
export { renderJson } from './render/json.ts';
export { renderMarkdown } from './render/markdown.ts';
export { renderTable, type TableStyle } from './render/table.ts';
export * from './runner.ts';
export * from './schema.ts';
