import * as z from 'zod/mini';
import { nvcfRecognition, parseRegistryHostname } from '../ecr/hostname.ts';
import { repositoryNameProblem, TAG } from '../ecr/reference.ts';
import { HostnameError } from '../errors.ts';
import { formatPlatform, parsePlatform } from '../image/platform.ts';
import { webhooksSchema } from './webhooks.ts';

/**
 * The operator's contract: the schema of `nvcf-ecr.config.ts` (and `.mjs`/`.json`). One validated object
 * drives the stacks at synth, the handlers (serialised into their environment), the CLI and the sandbox.
 * zod/mini keeps the Lambda bundles small; messages are written here so each says how to fix the value.
 */

/**
 * NVCF secret names (NVIDIA/nvcf:src/control-plane-services/…/dto/SecretDto.java): 1–48 characters, starting
 * with a letter or digit.
 */
export const CREDENTIAL_NAME = /^[a-z0-9A-Z][a-z0-9A-Z_.-]*$/;
const REGISTRY_NAME = /^[a-z0-9-]+$/;
// IAM user names: up to 64 of [\w+=,.@-].
const IAM_USER_NAME = /^[\w+=,.@-]{1,64}$/;
// Secrets Manager names: up to 512 of [A-Za-z0-9/_+=.@-].
const SECRET_NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const ACCOUNT_ID = /^\d{12}$/;

export const DEFAULT_NGC_BASE_URL = 'https://api.ngc.nvidia.com';
export const DEFAULT_ROTATION_SCHEDULE = 'rate(30 days)';
export const DEFAULT_GRACE_HOURS = 24;
export const DEFAULT_REQUIRED_PLATFORMS = ['linux/amd64'] as const;
export const DEFAULT_AUDIT_SCHEDULE = 'rate(1 day)';
export const DEFAULT_MAX_KEY_AGE_DAYS = 90;

const RATE = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/;
const CRON = /^cron\(([^()]+)\)$/;

/** Hours between rotations for a `rate(...)` expression, `undefined` for cron. */
export function rateHours(expression: string): number | undefined {
  const m = RATE.exec(expression);
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = m[2] ?? '';
  return unit.startsWith('minute') ? n / 60 : unit.startsWith('hour') ? n : n * 24;
}

/**
 * Why the body of `cron(...)` is invalid: it needs 6 fields, and EventBridge (and Secrets Manager, which takes the
 * same expressions) needs `?` in exactly one of day-of-month and day-of-week — "If you specify a value or a *
 * (asterisk) in one of the fields, you must use a ? (question mark) in the other" (EventBridge User Guide,
 * "Cron expressions", https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html).
 * `fieldRules` adds a service's own rules on the six fields.
 */
function cronProblem(
  body: string,
  fieldRules: (fields: readonly string[]) => string | undefined = () => undefined,
): string | undefined {
  const fields = body.trim().split(/\s+/);
  if (fields.length !== 6)
    return `cron expressions have 6 fields (minutes hours day-of-month month day-of-week year), got ${fields.length}`;
  const problem = fieldRules(fields);
  if (problem) return problem;
  const dayOfMonth = fields[2];
  const dayOfWeek = fields[4];
  if ((dayOfMonth === '?') === (dayOfWeek === '?'))
    return `use '?' in exactly one of day-of-month (${dayOfMonth}) and day-of-week (${dayOfWeek}), e.g. 'cron(0 6 * * ? *)' or 'cron(0 4 ? * MON *)'`;
  return undefined;
}

/**
 * Why a rotation window does not fit its schedule, or `undefined`. "The window must not extend into the next
 * rotation window or the next UTC day. The window starts according to the ScheduleExpression" — at midnight for
 * rate() (Secrets Manager API reference, `RotationRulesType`,
 * https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_RotationRulesType.html). Checked: a window
 * longer than a rate in hours, and a cron window opening at one hour that would pass midnight. A cron with
 * several hours is left to Secrets Manager.
 */
export function rotationWindowProblem(schedule: string, window: string): string | undefined {
  const hours = Number(/^(\d+)h$/.exec(window)?.[1]);
  // An invalid schedule is reported on its own: the window is judged against a valid one only.
  if (!Number.isFinite(hours) || rotationScheduleProblem(schedule) !== undefined) return undefined;
  const every = rateHours(schedule);
  if (every !== undefined) {
    return every < 24 && hours > every
      ? `a ${hours}h window would run into the next rotation window (every ${every} hours): use at most '${every}h'`
      : undefined;
  }
  const hour = Number(CRON.exec(schedule)?.[1]?.trim().split(/\s+/)[1]);
  if (Number.isInteger(hour) && hour + hours > 24)
    return `a ${hours}h window opening at ${hour}:00 UTC would run into the next UTC day: use at most '${24 - hour}h', or an earlier hour`;
  return undefined;
}

/** Secrets Manager's own cron rules: minutes 0, year `*`. */
function secretsManagerCronRules(fields: readonly string[]): string | undefined {
  if (fields[0] !== '0') return 'Secrets Manager cron schedules must use 0 for minutes';
  if (fields[5] !== '*') return 'Secrets Manager cron schedules must use * for the year';
  return undefined;
}

/**
 * Why a Secrets Manager rotation schedule is invalid (`rate(N hours|days)` at most every 4 hours, or a
 * 6-field cron whose minutes are 0 and year `*`), or `undefined`.
 * https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_RotationRulesType.html
 */
export function rotationScheduleProblem(expression: string): string | undefined {
  const rate = RATE.exec(expression);
  if (rate) {
    if (rate[2]?.startsWith('minute'))
      return 'Secrets Manager rotates at most every 4 hours: use rate(N hours) or rate(N days)';
    const hours = rateHours(expression) ?? 0;
    if (hours < 4) return 'Secrets Manager rotates at most every 4 hours: use at least rate(4 hours)';
    if (hours > 1000 * 24) return 'Secrets Manager rotates at least every 1000 days';
    if (Number(rate[1]) === 1 && rate[2]?.endsWith('s'))
      return `use the singular unit: rate(1 ${rate[2].slice(0, -1)})`;
    return undefined;
  }
  const cron = CRON.exec(expression);
  if (cron) return cronProblem(cron[1] ?? '', secretsManagerCronRules);
  return "must be 'rate(N days)', 'rate(N hours)' or 'cron(0 H D M W *)', e.g. 'rate(30 days)'";
}

/** Why an EventBridge schedule expression is invalid, or `undefined`. */
export function scheduleProblem(expression: string): string | undefined {
  const rate = RATE.exec(expression);
  if (rate) {
    if (Number(rate[1]) < 1) return 'the rate must be a positive whole number';
    if (Number(rate[1]) === 1 && rate[2]?.endsWith('s'))
      return `use the singular unit: rate(1 ${rate[2].slice(0, -1)})`;
    if (Number(rate[1]) > 1 && !rate[2]?.endsWith('s'))
      return `use the plural unit: rate(${rate[1]} ${rate[2]}s)`;
    return undefined;
  }
  const cron = CRON.exec(expression);
  if (cron) return cronProblem(cron[1] ?? '');
  return "must be 'rate(N unit)' or 'cron(...)', e.g. 'rate(1 day)'";
}

const platformString = z.string().check(
  z.refine((s) => parsePlatform(s) !== undefined, {
    message: "must be a platform 'os/arch[/variant]', e.g. 'linux/amd64' or 'linux/arm64'",
  }),
);

const platformList = z
  .array(platformString)
  .check(z.minLength(1, 'must list at least one platform, e.g. ["linux/amd64"]'));

/** A schedule expression `problem` judges (it returns why the text is not one, or `undefined`). */
function scheduleString(problem: (expression: string) => string | undefined) {
  return z.string().check(
    z.superRefine((s, ctx) => {
      const p = problem(s);
      if (p) ctx.addIssue({ code: 'custom', message: p, input: s });
    }),
  );
}

const retireSchema = z.strictObject({
  /**
   * What the scheduled retirement does when the previous key was used within the last hour: `postpone`
   * (warn and try again next hour) or `deactivate` (deactivate anyway).
   */
  whenInUse: z._default(z.enum(['postpone', 'deactivate']), 'postpone'),
  /** Hours after the grace period ends at which a still-used key is deactivated anyway (0 = never). */
  maxPostponeHours: z._default(z.number().check(z.int(), z.gte(0)), 72),
});

const rotationSchema = z.strictObject({
  schedule: z._default(scheduleString(rotationScheduleProblem), DEFAULT_ROTATION_SCHEDULE),
  /** Hours the previous key stays Active after a rotation (NVCF caches credentials; running workloads keep theirs). */
  graceHours: z._default(
    z.number().check(z.gte(1, 'must be at least 1 hour: NVCF caches credentials for minutes')),
    DEFAULT_GRACE_HOURS,
  ),
  /** Rotation window (Secrets Manager `Duration`), e.g. `3h`. */
  window: z._default(
    z.string().check(z.regex(/^([1-9]|1\d|2[0-4])h$/, "must be a duration of 1h to 24h, e.g. '3h'")),
    '3h',
  ),
  /** `repository:tag` that testSecret pulls with the new key (BatchGetImage), proving it is allowed to pull. */
  canaryImage: z.optional(z.string()),
  retire: z._default(retireSchema, { whenInUse: 'postpone', maxPostponeHours: 72 }),
});

const platformsSchema = z.strictObject({
  require: z._default(platformList, [...DEFAULT_REQUIRED_PLATFORMS]),
  repositories: z._default(z.record(z.string(), platformList), {}),
});

const registrySchema = z.strictObject({
  name: z
    .string()
    .check(z.regex(REGISTRY_NAME, "must be lower-case letters, digits and '-', e.g. 'prod-ecr'")),
  hostname: z.string().check(
    z.superRefine((h, ctx) => {
      try {
        parseRegistryHostname(h);
      } catch (err) {
        if (err instanceof HostnameError) {
          ctx.addIssue({ code: 'custom', message: err.message, input: h });
          return;
        }
        throw err;
      }
      const nvcf = nvcfRecognition(h);
      if (!nvcf.recognized) ctx.addIssue({ code: 'custom', message: nvcf.reason, input: h });
    }),
  ),
  /** Owner account of an ECR Public registry (private registries take it from the hostname). */
  accountId: z.optional(z.string().check(z.regex(ACCOUNT_ID, 'must be a 12-digit AWS account id'))),
  /** Registry alias of an ECR Public registry (`public.ecr.aws/<alias>/<repository>`). */
  publicAlias: z.optional(
    z
      .string()
      .check(z.regex(/^[a-z0-9][a-z0-9_-]{1,49}$/, 'must be an ECR Public alias (2–50 of a-z 0-9 _ -)')),
  ),
  repositories: z.array(z.string()).check(
    z.minLength(1, 'must list at least one repository NVCF may pull from'),
    z.superRefine((repos, ctx) => {
      const seen = new Set<string>();
      repos.forEach((r, i) => {
        const problem = repositoryNameProblem(r);
        if (problem)
          ctx.addIssue({ code: 'custom', message: `repository '${r}' ${problem}`, path: [i], input: r });
        if (seen.has(r))
          ctx.addIssue({ code: 'custom', message: `repository '${r}' is listed twice`, path: [i], input: r });
        seen.add(r);
      });
    }),
  ),
  credentialName: z
    .string()
    .check(
      z.maxLength(48, 'NVCF credential names are at most 48 characters'),
      z.regex(
        CREDENTIAL_NAME,
        "NVCF credential names start with a letter or digit and contain only letters, digits, '_', '.' and '-'",
      ),
    ),
  /** IAM user NVCF pulls as; default `nvcf-ecr-<stage>-<region>-<name>` (`names.ts`). */
  userName: z.optional(
    z.string().check(z.regex(IAM_USER_NAME, 'IAM user names are 1–64 of letters, digits and +=,.@_-')),
  ),
  /** Secrets Manager secret holding the rotated key; default `nvcf-ecr/<stage>/<name>/pull-key`. */
  secretName: z.optional(
    z.string().check(z.regex(SECRET_NAME, 'Secrets Manager names are 1–512 of letters, digits and /_+=.@-')),
  ),
  rotation: z._default(rotationSchema, {
    schedule: DEFAULT_ROTATION_SCHEDULE,
    graceHours: DEFAULT_GRACE_HOURS,
    window: '3h',
    retire: { whenInUse: 'postpone', maxPostponeHours: 72 },
  }),
  platforms: z._default(platformsSchema, { require: [...DEFAULT_REQUIRED_PLATFORMS], repositories: {} }),
});

const exemptionSchema = z.strictObject({
  checkId: z.string().check(z.minLength(1, 'must name the check, e.g. iam.access-key-age')),
  /** The finding's resource (exact), a pattern where `*` is any run of characters, or `*` for every resource. */
  resource: z.string().check(z.minLength(1, "must name the resource, or '*' for all")),
  reason: z.string().check(z.minLength(1, 'must say why the exemption is acceptable')),
  /** ISO-8601 date or date-time after which the exemption no longer applies. */
  expires: z.string().check(
    z.refine((s) => /^\d{4}-\d{2}-\d{2}/.test(s) && !Number.isNaN(Date.parse(s)), {
      message: "must be an ISO-8601 date, e.g. '2027-06-30'",
    }),
  ),
});

const auditSchema = z.strictObject({
  schedule: z._default(scheduleString(scheduleProblem), DEFAULT_AUDIT_SCHEDULE),
  maxKeyAgeDays: z._default(
    z.number().check(z.int('must be a whole number of days'), z.gte(1, 'must be at least 1 day')),
    DEFAULT_MAX_KEY_AGE_DAYS,
  ),
  exemptions: z._default(z.array(exemptionSchema), []),
  /** Days the report bucket keeps audit reports. */
  reportRetentionDays: z._default(z.number().check(z.int(), z.gte(1)), 90),
});

const ngcSchema = z.strictObject({
  /**
   * Secrets Manager secret holding the NGC API key (created empty by the stacks; the operator fills it);
   * default `nvcf-ecr/<stage>/ngc-api-key`.
   */
  apiKeySecretName: z.optional(
    z.string().check(z.regex(SECRET_NAME, 'Secrets Manager names are 1–512 of letters, digits and /_+=.@-')),
  ),
  baseUrl: z._default(
    z.string().check(
      z.refine((u) => /^https?:\/\/[^/\s]+(\/.*)?$/.test(u) && !u.endsWith('/'), {
        message: "must be an http(s) URL without a trailing '/', e.g. 'https://api.ngc.nvidia.com'",
      }),
    ),
    DEFAULT_NGC_BASE_URL,
  ),
  /** NGC org: when set, the client uses org-scoped paths `/v2/orgs/<org>[/teams/<team>]/nvcf/...`. */
  org: z.optional(z.string().check(z.regex(/^[A-Za-z0-9_-]+$/, 'must be an NGC org name'))),
  team: z.optional(z.string().check(z.regex(/^[A-Za-z0-9_-]+$/, 'must be an NGC team name'))),
});

export const configSchema = z
  .strictObject({
    ngc: ngcSchema,
    registries: z
      .array(registrySchema)
      .check(
        z.minLength(1, 'must list at least one registry'),
        z.maxLength(25, 'NVCF accepts at most 25 registry credentials per account'),
      ),
    audit: z._default(auditSchema, {
      schedule: DEFAULT_AUDIT_SCHEDULE,
      maxKeyAgeDays: DEFAULT_MAX_KEY_AGE_DAYS,
      exemptions: [],
      reportRetentionDays: 90,
    }),
    notifications: z._default(
      z.strictObject({
        email: z._default(z.array(z.string().check(z.regex(EMAIL, 'must be an e-mail address'))), []),
        webhooks: z._default(webhooksSchema, []),
      }),
      { email: [], webhooks: [] },
    ),
  })
  .check(
    z.superRefine((cfg, ctx) => {
      if (cfg.ngc.team && !cfg.ngc.org) {
        ctx.addIssue({
          code: 'custom',
          message: 'a team needs its org: set ngc.org too',
          path: ['ngc', 'team'],
          input: cfg.ngc.team,
        });
      }
      const names = new Map<string, number>();
      const credentials = new Map<string, number>();
      cfg.registries.forEach((r, i) => {
        const at = (...path: (string | number)[]) => ['registries', i, ...path];
        const other = names.get(r.name);
        if (other !== undefined) {
          ctx.addIssue({
            code: 'custom',
            message: `name '${r.name}' is already used by registries[${other}]: names must be unique`,
            path: at('name'),
            input: r.name,
          });
        } else names.set(r.name, i);
        // NVCF's uniqueness key is (hostname, credential name)
        // (NVIDIA/nvcf:src/control-plane-services/…/RegistryCredentialService.java).
        const key = `${r.hostname}\u0000${r.credentialName}`;
        const dup = credentials.get(key);
        if (dup !== undefined) {
          ctx.addIssue({
            code: 'custom',
            message: `registries[${dup}] already uses credential '${r.credentialName}' for ${r.hostname}: NVCF needs (hostname, credentialName) to be unique`,
            path: at('credentialName'),
            input: r.credentialName,
          });
        } else credentials.set(key, i);
        const isPublic = r.hostname === 'public.ecr.aws';
        if (isPublic && !r.accountId) {
          ctx.addIssue({
            code: 'custom',
            message: 'ECR Public registries need the owner account: set accountId to its 12-digit id',
            path: at('accountId'),
            input: undefined,
          });
        }
        if (!isPublic && r.accountId && !r.hostname.startsWith(`${r.accountId}.`)) {
          ctx.addIssue({
            code: 'custom',
            message: `accountId ${r.accountId} differs from the account in hostname ${r.hostname}: drop accountId`,
            path: at('accountId'),
            input: r.accountId,
          });
        }
        if (!isPublic && r.publicAlias) {
          ctx.addIssue({
            code: 'custom',
            message: 'publicAlias applies to public.ecr.aws registries only: drop it',
            path: at('publicAlias'),
            input: r.publicAlias,
          });
        }
        for (const repo of Object.keys(r.platforms.repositories)) {
          if (!r.repositories.includes(repo)) {
            ctx.addIssue({
              code: 'custom',
              message: `repository '${repo}' has a platform policy but is not in registries[${i}].repositories: add it there or remove the policy`,
              path: at('platforms', 'repositories', repo),
              input: repo,
            });
          }
        }
        if (r.rotation.canaryImage !== undefined) {
          const [repo, tag, extra] = r.rotation.canaryImage.split(':');
          if (!repo || !tag || extra !== undefined || !TAG.test(tag) || !r.repositories.includes(repo)) {
            ctx.addIssue({
              code: 'custom',
              message: `canaryImage must be '<repository>:<tag>' with a repository listed in registries[${i}].repositories`,
              path: at('rotation', 'canaryImage'),
              input: r.rotation.canaryImage,
            });
          }
        }
        const windowProblem = rotationWindowProblem(r.rotation.schedule, r.rotation.window);
        if (windowProblem) {
          ctx.addIssue({
            code: 'custom',
            message: windowProblem,
            path: at('rotation', 'window'),
            input: r.rotation.window,
          });
        }
        const every = rateHours(r.rotation.schedule);
        if (every !== undefined && r.rotation.graceHours >= every) {
          ctx.addIssue({
            code: 'custom',
            message: `graceHours (${r.rotation.graceHours}) must be shorter than the rotation interval (${every} h), or every rotation would be refused while the previous key is in its grace period`,
            path: at('rotation', 'graceHours'),
            input: r.rotation.graceHours,
          });
        }
      });
    }),
  );

/** What an operator writes (defaults may be left out). */
export type ConfigInput = z.input<typeof configSchema>;
/** The validated configuration with every default filled in. */
export type ParsedConfig = z.output<typeof configSchema>;
export type RegistryConfigParsed = ParsedConfig['registries'][number];

/** Canonical platform string (`linux/arm64/v8` → `linux/arm64`). */
export function canonicalPlatform(text: string): string {
  const p = parsePlatform(text);
  return p ? formatPlatform(p) : text;
}
