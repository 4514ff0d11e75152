import type { Config, RegistryConfig } from '../config/index.ts';
import { AuditError } from '../errors.ts';
import { ContentCache } from '../image/cache.ts';
import { type Logger, silentLogger } from '../log.ts';
import type { ObjectStore, PublicImageLister } from '../ports/aws.ts';
import type { NvcfAuditPort } from '../ports/nvcf.ts';
import { ResolutionCache } from './cache.ts';
import { checkCatalog } from './catalog.ts';
import type { RegistryCheckContext } from './check.ts';
import { iamChecks } from './checks/iam.ts';
import { imageChecks } from './checks/image.ts';
import { ngcApiKeyCheck, nvcfChecks } from './checks/nvcf.ts';
import { secretChecks } from './checks/secret.ts';
import { applyExemptions } from './exemptions.ts';
import { accountFacts, type IamReader, registryFacts, type SecretsReader } from './facts.ts';
import { type EcrAuditApi, ImageScanner } from './images.ts';
import { type AuditDeadline, incompleteFindings } from './incomplete.ts';
import {
  AUDIT_REPORT_SCHEMA_VERSION,
  type AuditedRegistry,
  type AuditReport,
  compareFindings,
  type Finding,
  summarize,
} from './model.ts';
import { AdaptiveGate, type BackoffOptions, mapLimit, type Sleep } from './pace.ts';

/**
 * `runAudit`: every check over every configured registry (or the ones asked for), findings judged against the
 * configured exemptions, ordered and summarised into the report. A check that cannot read what it needs
 * becomes an `error` finding; only a request the audit cannot serve at all (an unknown registry name) throws.
 */

/**
 * Collaborators: SDK clients (or anything with their `send`), the AWS ports (`ports/aws.ts`), the NVCF client,
 * the clock.
 */
export interface AuditDependencies {
  readonly iam: IamReader;
  readonly secrets: SecretsReader;
  /** An ECR client for a region (private registries). */
  readonly ecr: (region: string) => EcrAuditApi;
  /**
   * ECR Public (us-east-1: https://docs.aws.amazon.com/AmazonECR/latest/public/public-registry-auth.html).
   */
  readonly ecrPublic: PublicImageLister;
  readonly nvcf: NvcfAuditPort;
  readonly now: () => Date;
  readonly logger?: Logger | undefined;
  /** `fetch` for presigned config-blob URLs (default `globalThis.fetch`). */
  readonly fetch?: typeof globalThis.fetch | undefined;
  /** Waits between retries (tests pass a fast one). */
  readonly sleep?: Sleep | undefined;
  /**
   * Where resolutions are kept between runs (the report bucket, `cache/` prefix): digests resolved on an
   * earlier run cost no manifest or config read. Without it every image is resolved.
   */
  readonly resolutionCache?: { readonly objects: ObjectStore; readonly bucket: string } | undefined;
}

export interface AuditOptions {
  /** Audit only these registries (by configured name); default every registry. */
  readonly registries?: readonly string[] | undefined;
  /** Images resolved at once per repository (default 16). */
  readonly imageConcurrency?: number | undefined;
  /** Repositories scanned at once (default 4). */
  readonly repositoryConcurrency?: number | undefined;
  /** Most ECR calls in flight per region, lowered automatically while ECR throttles (default 16). */
  readonly ecrConcurrency?: number | undefined;
  /** Human progress lines (the CLI prints them on stderr). */
  readonly onProgress?: ((message: string) => void) | undefined;
  /**
   * The time budget (the Lambda handler passes `context.getRemainingTimeInMillis()`): no repository is started
   * once less than `reserveMs` remains; those not reached are named by `audit.incomplete`. None: no limit.
   */
  readonly deadline?: AuditDeadline | undefined;
}

export const DEFAULT_IMAGE_CONCURRENCY = 16;
export const DEFAULT_REPOSITORY_CONCURRENCY = 4;
export const DEFAULT_ECR_CONCURRENCY = 16;
/**
 * Time kept for what follows the repositories when a deadline is given: the functions' images and NVCF
 * deployments, the NGC check, rendering three reports and storing them, the event. At 100,000 tags all of it
 * takes a few seconds (README.md, "Time budget"); 30 s leaves room for a throttled NVCF or S3.
 */
export const DEFAULT_DEADLINE_RESERVE_MS = 30_000;
/** NVCF calls at once (deployments of function versions). */
const NVCF_CONCURRENCY = 8;
/** Manifests and configs kept per audit run: 64 MiB covers the configs of a 10,000-image account many times. */
const CACHE_BYTES = 64 * 1024 * 1024;

/** The registries to audit; throws {@link AuditError} naming the configured ones for an unknown name. */
export function selectRegistries(config: Config, names: readonly string[] | undefined): RegistryConfig[] {
  if (!names || names.length === 0) return [...config.registries];
  const known = config.registries.map((r) => r.name);
  const unknown = names.filter((n) => !known.includes(n));
  if (unknown.length > 0) {
    throw new AuditError(
      `unknown registr${unknown.length === 1 ? 'y' : 'ies'} ${unknown.map((n) => `'${n}'`).join(', ')}: the configuration has ${known.map((n) => `'${n}'`).join(', ')}`,
    );
  }
  return config.registries.filter((r) => names.includes(r.name));
}

export async function runAudit(
  config: Config,
  deps: AuditDependencies,
  options: AuditOptions = {},
): Promise<AuditReport> {
  const registries = selectRegistries(config, options.registries);
  const logger = deps.logger ?? silentLogger;
  const deadline = options.deadline;
  const progress = options.onProgress ?? (() => {});
  const now = deps.now();
  const started = performance.now();
  const account = accountFacts(config, deps.nvcf, deps.secrets, logger);
  const backoff: BackoffOptions = { ...(deps.sleep ? { sleep: deps.sleep } : {}) };
  const gates = new Map<string, AdaptiveGate>();
  const gate = (region: string) => {
    let g = gates.get(region);
    if (!g) {
      g = new AdaptiveGate(options.ecrConcurrency ?? DEFAULT_ECR_CONCURRENCY);
      gates.set(region, g);
    }
    return g;
  };
  const scanner = new ImageScanner({
    ecr: deps.ecr,
    ecrPublic: deps.ecrPublic,
    fetch: deps.fetch,
    cache: new ContentCache({ maxEntries: 100_000, maxBytes: CACHE_BYTES }),
    resolutions: deps.resolutionCache
      ? new ResolutionCache({ ...deps.resolutionCache, logger, now: deps.now })
      : undefined,
    now: deps.now,
    // The next repository may take as long as the slowest one so far: start it only if that still leaves the reserve.
    mayStart: (slowestMs) =>
      deadline === undefined || deadline.remainingMs() > deadline.reserveMs + slowestMs,
    gate,
    backoff,
    concurrency: options.imageConcurrency ?? DEFAULT_IMAGE_CONCURRENCY,
    logger,
    onImages: (repository, done) => {
      if (done > 0 && done % 1000 === 0) progress(`  ${repository}: ${done} images resolved`);
    },
  });

  progress(`auditing ${registries.map((r) => `${r.name} (${r.hostname})`).join(', ')}`);
  const perRegistry = await mapLimit(registries, 2, async (registry) => {
    const ctx: RegistryCheckContext = {
      config,
      registry,
      facts: registryFacts(registry, deps.iam, deps.secrets),
      account,
      iam: deps.iam,
      now,
      logger: logger.child({ registry: registry.name }),
    };
    const found = (await Promise.all([iamChecks(ctx), secretChecks(ctx), nvcfChecks(ctx)])).flat();
    progress(`${registry.name}: IAM, secret and NVCF checks done`);
    return found;
  });
  const repositories = registries.reduce((n, r) => n + r.repositories.length, 0);
  let scanned = 0;
  const images = await imageChecks({
    registries,
    scanner,
    account,
    logger,
    repositoryConcurrency: options.repositoryConcurrency ?? DEFAULT_REPOSITORY_CONCURRENCY,
    nvcfConcurrency: NVCF_CONCURRENCY,
    onRepository: (registry, repository) =>
      progress(`${registry}: repository ${repository} read (${++scanned}/${repositories})`),
  });
  const ngc = await ngcApiKeyCheck(config, account, logger);
  if (scanner.unreached.length > 0) {
    logger.warn('audit incomplete: repositories not reached before the deadline', {
      unreached: scanner.unreached.map((u) => `${u.registry.hostname}/${u.repository}`),
    });
    progress(`incomplete: ${scanner.unreached.length} repositories not reached before the deadline`);
  }
  const incomplete = incompleteFindings(registries, scanner.unreached, deadline);

  const findings: Finding[] = applyExemptions(
    [...perRegistry.flat(), ...images, ...ngc, ...incomplete],
    config.audit.exemptions,
    now,
  ).sort(compareFindings);
  const summary = summarize(findings);
  const stats = {
    registries: registries.length,
    repositories,
    ...scanner.stats,
    throttledCalls: [...gates.values()].reduce((n, g) => n + g.throttled, 0),
    functionVersions: await account.functions().then(
      (fns) => fns.length,
      () => 0,
    ),
  };
  progress(
    `done: ${summary.failed} failed, ${summary.errors} errors, ${summary.exempted} exempted, ${summary.passed} passed (${stats.images} images resolved)`,
  );
  return {
    schemaVersion: AUDIT_REPORT_SCHEMA_VERSION,
    generatedAt: now.toISOString(),
    durationMs: Math.round(performance.now() - started),
    registries: registries.map(
      (r): AuditedRegistry => ({
        name: r.name,
        hostname: r.hostname,
        kind: r.kind,
        repositories: [...r.repositories],
        userName: r.userName,
        secretName: r.secretName,
        credentialName: r.credentialName,
      }),
    ),
    summary,
    findings,
    checks: checkCatalog(),
    stats,
  };
}
