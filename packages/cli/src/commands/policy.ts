import { type Config, ConfigError } from '@nvcf-ecr/core/config';
import { nvcfRecognition } from '@nvcf-ecr/core/ecr';
import { minimalPullPolicy, type PolicyDocument, pullPolicyFor } from '@nvcf-ecr/core/iam';
import type { Command, CommandContext } from '../cli.ts';
import { CONFIG_OPTIONS, DEFAULT_CONFIG_FILE, loadCommandConfig, registryByName } from '../context.ts';
import { UsageError } from '../errors.ts';
import { writeJson } from '../output.ts';

/**
 * `nvcf-ecr policy`: the minimal IAM policy NVCF's pull user needs (core's `minimalPullPolicy`, the document the
 * stacks attach and the audit simulates), for a configured registry or for `--hostname`/`--repository` without
 * a configuration. Partition-correct ARNs (aws, aws-cn, aws-us-gov...) come from the hostname.
 */

const HELP = `Prints the IAM policy document NVCF's pull user needs, and nothing more: ecr:GetAuthorizationToken on *
and the four pull actions (BatchGetImage, GetDownloadUrlForLayer, BatchCheckLayerAvailability,
DescribeImages) on exactly the registry's repositories — for ECR Public, ecr-public:GetAuthorizationToken
and sts:GetServiceBearerToken on *, and ecr-public:DescribeImages on the repositories. It is the document
the stacks attach; use it to create the pull user by hand or to review a policy.

From the configuration:
  nvcf-ecr policy [--registry <name>] [--config <file>]
Without a configuration:
  nvcf-ecr policy --hostname <host> --repository <repo> [--repository <repo>...] [--account-id <id>]

Options:
  --registry <name>       the configured registry (default: the only one; required when there are several)
  --config <file>         configuration file (default ./${DEFAULT_CONFIG_FILE})
  --hostname <host>       registry hostname: <account>.dkr.ecr.<region>.amazonaws.com (any partition, FIPS and
                          dual-stack forms too), or public.ecr.aws
  --repository <repo>     a repository NVCF may pull from (repeatable)
  --account-id <id>       owner account of an ECR Public registry (private ones take it from the hostname)
  --json                  accepted for consistency: the output is always the JSON policy document
  -h, --help              show this help

The policy goes to stdout; a hostname NVCF would refuse is reported on stderr (the policy is still printed).

Examples:
  nvcf-ecr policy > pull-policy.json
  nvcf-ecr policy --hostname 123456789012.dkr.ecr.us-east-1.amazonaws.com --repository inference \\
    | aws iam put-user-policy --user-name nvcf-pull --policy-name nvcf-ecr-pull --policy-document file:///dev/stdin

Exit codes:
  0  printed
  2  usage error: unknown registry, invalid hostname, repository or account id, invalid configuration`;

export const command: Command = {
  name: 'policy',
  summary: 'print the minimal IAM policy NVCF needs to pull from a registry',
  usage: 'nvcf-ecr policy [--registry NAME] | --hostname HOST --repository REPO... [--account-id ID]',
  help: HELP,
  options: {
    ...CONFIG_OPTIONS,
    registry: { type: 'string' },
    hostname: { type: 'string' },
    repository: { type: 'string', multiple: true },
    'account-id': { type: 'string' },
    json: { type: 'boolean' },
  },
  positionals: { min: 0, max: 0 },
  run: policy,
};

async function policy({ values, io }: CommandContext): Promise<number> {
  const hostname = typeof values['hostname'] === 'string' ? values['hostname'] : undefined;
  const repositories = (values['repository'] as string[] | undefined) ?? [];
  const accountId = typeof values['account-id'] === 'string' ? values['account-id'] : undefined;
  let document: PolicyDocument;
  if (hostname !== undefined || repositories.length > 0 || accountId !== undefined) {
    if (values['registry'] !== undefined || values['config'] !== undefined) {
      throw new UsageError('give either --registry/--config or --hostname/--repository, not both', 'policy');
    }
    if (hostname === undefined) throw new UsageError('--repository needs --hostname', 'policy');
    if (repositories.length === 0)
      throw new UsageError('--hostname needs at least one --repository', 'policy');
    try {
      document = pullPolicyFor({ hostname, repositories, accountId });
    } catch (err) {
      if (err instanceof ConfigError) throw new UsageError(flagProblems(err), 'policy', { cause: err });
      throw err;
    }
    const nvcf = nvcfRecognition(hostname);
    if (!nvcf.recognized) io.stderr.write(`nvcf-ecr policy: warning: ${nvcf.reason}\n`);
  } else {
    const config = (await loadCommandConfig(values, { required: true })) as Config;
    const name = typeof values['registry'] === 'string' ? values['registry'] : undefined;
    if (name === undefined && config.registries.length > 1) {
      throw new UsageError(
        `the configuration has ${config.registries.length} registries: name one with --registry (${config.registries.map((r) => r.name).join(', ')})`,
        'policy',
      );
    }
    document = minimalPullPolicy(
      name === undefined
        ? (config.registries[0] as Config['registries'][number])
        : registryByName(config, name, 'policy'),
    );
  }
  writeJson(io, document);
  return 0;
}

/** Core names the inputs as fields (`hostname`, `repositories[1]`, `accountId`); the user typed flags. */
function flagProblems(err: ConfigError): string {
  const flag = (path: string) =>
    path.startsWith('repositories') ? '--repository' : path === 'accountId' ? '--account-id' : `--${path}`;
  return err.issues.map((i) => `${flag(i.path)}: ${i.message}`).join('; ');
}
