import { PULL_POLICY_NAME } from '../../events/names.ts';
import { loadEffectivePolicies, type PolicySource, policySourceLabel } from '../../iam/effective.ts';
import { evaluatePullAccess, type GrantFinding, type MissingPermission } from '../../iam/pull-access.ts';
import { guard, listText, plural, type RegistryCheckContext } from '../check.ts';
import type { CheckDefinition, Finding, FindingDraft, Severity } from '../model.ts';
import { keyAge, keyCount, keyMatchesSecret } from './iam-keys.ts';

/**
 * IAM checks on the pull user: what its effective policies allow, how many keys it has, how old the Active
 * key is, and whether the key the secret names is the one IAM has. All read live IAM (`ListAccessKeys`,
 * `GetAccessKeyLastUsed`, the policy APIs), never the credential report (regenerated at most every 4 hours:
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/iam_example_iam_GenerateCredentialReport_section.html).
 */

export const IAM_CHECKS = {
  leastPrivilege: {
    id: 'iam.pull-policy-least-privilege',
    title: "The pull user's effective policies allow exactly what NVCF needs",
    severity: 'critical',
    proves:
      "AWS's own policy simulator (iam:SimulatePrincipalPolicy), evaluating the pull user's inline, attached and group policies and its permissions boundary together, allows every permission of NVCF's minimal pull policy on the configured repositories, and nothing more — every action an Allow statement names is asked on every resource it names, and a sample of dangerous actions (image writes, key or policy management, data access) and of other repositories backs up what wildcard actions grant; no wildcard statement.",
    remediation:
      "Make NVCF's minimal pull policy the user's only permission: redeploy the Credentials stack (it writes that policy), and remove every other inline policy, attached policy and group membership of the user.",
  },
  keyCount: {
    id: 'iam.access-key-count',
    title: 'The pull user has one Active key outside a rotation',
    severity: 'high',
    proves:
      'The pull user has at most one Active access key, except for the previous key during its grace period after a rotation (or the new key while a rotation is in progress); never more than two.',
    remediation:
      'Deactivate keys the secret does not name, and previous keys past their grace period (the hourly retirement does this unless the key is still in use).',
  },
  keyAge: {
    id: 'iam.access-key-age',
    title: 'The Active key is younger than the configured maximum age',
    severity: 'medium',
    proves:
      'Every Active access key of the pull user was created less than audit.maxKeyAgeDays ago. Inactive keys do not age: they cannot be used.',
    remediation:
      'Rotate the secret now, then find out why the schedule did not (see secret.rotation-enabled and secret.rotation-recent).',
  },
  keyMatchesSecret: {
    id: 'iam.key-matches-secret',
    title: 'The key the secret names exists, is Active, and no unknown key exists',
    severity: 'critical',
    proves:
      "The access key id the rotation recorded for the secret's AWSCURRENT version (its nvcf-ecr:version tag; the value is never read) exists on the pull user and is Active, and every other key of the user is one the secret knows (AWSPREVIOUS or AWSPENDING).",
    remediation:
      'Rotate the secret so that AWSCURRENT names a working key (a rotation also records the key ids of versions written before it recorded them); deactivate and delete keys created outside the rotation once nothing uses them.',
  },
} as const satisfies Record<string, CheckDefinition>;

export async function iamChecks(ctx: RegistryCheckContext): Promise<Finding[]> {
  const { registry, facts, logger } = ctx;
  const user = facts.user();
  const resource = async () => (await user).arn;
  // The ARN is known only once GetUser answered; a failing GetUser still needs a resource for its error.
  const fallback = `arn:${registry.partition}:iam::${registry.accountId}:user/${registry.userName}`;
  const arn = await resource().catch(() => fallback);
  const name = registry.name;
  const results = await Promise.all([
    guard(IAM_CHECKS.leastPrivilege, arn, name, logger, () => leastPrivilege(ctx, arn)),
    guard(IAM_CHECKS.keyCount, arn, name, logger, async () => [
      keyCount(ctx, arn, await facts.keys(), await facts.secret()),
    ]),
    guard(IAM_CHECKS.keyAge, arn, name, logger, async () => [keyAge(ctx, arn, await facts.keys())]),
    guard(IAM_CHECKS.keyMatchesSecret, arn, name, logger, async () => [
      keyMatchesSecret(ctx, arn, (await user).exists, await facts.keys(), await facts.secret()),
    ]),
  ]);
  return results.flat();
}

async function leastPrivilege(ctx: RegistryCheckContext, arn: string): Promise<FindingDraft[]> {
  const { registry } = ctx;
  const user = await ctx.facts.user();
  if (!user.exists) {
    return [
      {
        status: 'fail',
        severity: 'high',
        resource: arn,
        message: `The pull user ${registry.userName} does not exist, so NVCF cannot pull with it.`,
        evidence: { userName: registry.userName },
        remediation: 'Deploy the Credentials stack: it creates the pull user with the minimal pull policy.',
      },
    ];
  }
  // The user's ARN is known from the audit's one GetUser: no second call.
  const effective = await loadEffectivePolicies(ctx.iam, { name: user.name, arn: user.arn });
  const report = await evaluatePullAccess(registry, effective, ctx.iam);
  const labels = effective.policies.map(policySourceLabel);
  const evidence = {
    userArn: effective.userArn,
    policies: labels,
    required: report.allowedRequired.length + report.missing.length,
    missing: report.missing,
    excess: report.excess,
    outOfScope: report.outOfScope,
    wildcards: report.wildcards,
  };
  const problems: string[] = [];
  let severity: Severity | undefined;
  const raise = (s: Severity) => {
    if (severity === undefined || order(s) < order(severity)) severity = s;
  };
  if (report.excess.length > 0) {
    raise('critical');
    problems.push(
      `allows ${listText(
        report.excess.map((g) => `${g.action} on ${g.resource} (via ${viaText(g)})`),
        3,
      )}`,
    );
  }
  if (report.outOfScope.length > 0) {
    raise('high');
    problems.push(
      `can pull beyond the configured repositories: ${listText(
        report.outOfScope.map((g) => `${g.action} on ${g.resource}`),
        3,
      )}`,
    );
  }
  if (report.missing.length > 0) {
    raise('high');
    problems.push(
      `lacks ${listText(
        report.missing.map((p) => `${p.action} on ${p.resource} (${missingText(p)})`),
        3,
      )}, which NVCF needs to pull`,
    );
  }
  if (report.wildcards.length > 0) {
    raise('medium');
    problems.push(
      `has wildcard statements: ${listText(
        report.wildcards.map((w) => `${w.source} ${w.statement}: ${w.detail}`),
        2,
      )}`,
    );
  }
  if (problems.length === 0) {
    return [
      {
        status: 'pass',
        resource: arn,
        message: `${registry.userName} is allowed exactly NVCF's ${plural(evidence.required, 'pull permission')} on ${plural(registry.repositories.length, 'configured repository', 'configured repositories')}, and nothing more (${plural(labels.length, 'policy', 'policies')} simulated).`,
        evidence,
      },
    ];
  }
  const culprits = new Set([
    ...report.excess.flatMap((g) => g.sources),
    ...report.outOfScope.flatMap((g) => g.sources),
    ...report.wildcards.map((w) => w.source),
    ...report.missing.flatMap((p) => p.statements.map((st) => sourceOfStatement(st, labels))),
  ]);
  const commands = effective.policies
    .filter((p) => culprits.has(policySourceLabel(p)))
    .map((p) => removalCommand(registry.userName, p));
  const steps = [
    ...(commands.length > 0
      ? [`Remove what grants more than NVCF needs: ${[...new Set(commands)].join('; ')}.`]
      : []),
    ...(report.missing.some((p) => p.reason === 'permissions boundary')
      ? [
          `Let the permissions boundary allow NVCF's pull permissions, or remove it: aws iam delete-user-permissions-boundary --user-name ${registry.userName}.`,
        ]
      : []),
    ...(report.missing.length > 0 || commands.some((c) => c.includes(PULL_POLICY_NAME))
      ? [`Redeploy the Credentials stack, which writes the minimal pull policy ${PULL_POLICY_NAME}.`]
      : []),
  ];
  const remediation = steps.length > 0 ? steps.join(' Then ') : undefined;
  return [
    {
      status: 'fail',
      severity,
      resource: arn,
      message: `${registry.userName} ${problems.join('; it ')}.`,
      evidence,
      remediation,
    },
  ];
}

/** `inline extra Statement[1]` where AWS named the statement, else the policies. */
function viaText(g: GrantFinding): string {
  return (g.statements.length > 0 ? g.statements : g.sources).join(', ');
}

function missingText(p: MissingPermission): string {
  switch (p.reason) {
    case 'explicit deny':
      return `explicitly denied${p.statements.length > 0 ? ` by ${p.statements.join(', ')}` : ''}`;
    case 'permissions boundary':
      return "outside the user's permissions boundary";
    default:
      return 'no policy allows it';
  }
}

/** The policy label a statement label (`<policy label> <statement>`) starts with. */
function sourceOfStatement(statement: string, labels: readonly string[]): string {
  return labels.find((l) => statement.startsWith(`${l} `)) ?? statement;
}

function removalCommand(user: string, p: PolicySource): string {
  switch (p.kind) {
    case 'inline':
      return p.name === PULL_POLICY_NAME
        ? `restore the minimal pull policy ${PULL_POLICY_NAME} (it was changed)`
        : `aws iam delete-user-policy --user-name ${user} --policy-name ${p.name}`;
    case 'attached':
      return `aws iam detach-user-policy --user-name ${user} --policy-arn ${p.arn ?? p.name}`;
    default:
      return `aws iam remove-user-from-group --user-name ${user} --group-name ${p.group ?? '?'} (group ${p.group ?? '?'} grants ${p.kind === 'group-inline' ? `inline ${p.name}` : (p.arn ?? p.name)})`;
  }
}

function order(s: Severity): number {
  return ['critical', 'high', 'medium', 'low', 'info'].indexOf(s);
}
