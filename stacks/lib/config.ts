import { assertConfig, type Config, type ConfigInput, deploymentRegion } from '@nvcf-ecr/core/config';
import { type Partition, partitionOfRegion } from '@nvcf-ecr/core/ecr';
import { ConfigError, type ConfigIssue } from '@nvcf-ecr/core/errors';
import type { App } from 'sst/constructs';
import defaultConfig from '../../nvcf-ecr.config.ts';

/**
 * The configuration at synth time. `nvcf-ecr.config.ts` is the one source of truth; `sst.config.ts` and the
 * stacks read it through here so that `npm run synth -- --config FILE` and the stack tests can hand the
 * same stacks another configuration (bound to their `App`) without touching the file.
 */

/** The SST app name: stack names are `<stage>-nvcf-ecr-<Stack>`. */
export const APP_NAME = 'nvcf-ecr';

/** Where the stacks deploy: one account and region (its partition decides every ARN the stacks build). */
export interface Deployment {
  readonly account: string;
  readonly region: string;
  readonly partition: Partition;
}

const bound = new WeakMap<App, Config>();

/**
 * Binds a validated configuration (`assertConfig`) to an app before its stacks run: `npm run synth -- --config`
 * and the stack tests use it.
 */
export function bindConfig(app: App, config: Config): void {
  bound.set(app, config);
}

/**
 * The configuration of `app`: the bound one, else `nvcf-ecr.config.ts` (what `npx sst deploy` uses).
 */
export function useConfig(app: App): Config {
  const config = bound.get(app) ?? projectConfig();
  bound.set(app, config);
  return config;
}

/** `nvcf-ecr.config.ts`, validated. */
export function projectConfig(): Config {
  return assertConfig(defaultConfig, 'nvcf-ecr.config.ts');
}

/**
 * The deployment a configuration implies when nothing else says: the account and region of its first
 * private registry (ECR push events are delivered in the registry's own region, so the push rule must live
 * there), else the owner account of its first ECR Public registry in us-east-1, ECR Public's only region —
 * the region is core's `deploymentRegion`, which the CLI uses too. `npx sst deploy` takes the account from the
 * credentials and `--region` may override the region; {@link deploymentIssues} then reports what that breaks.
 */
export function defaultDeployment(config: Config): Deployment {
  const first = config.registries.find((r) => r.kind === 'private') ?? config.registries[0];
  if (!first) throw new ConfigError([{ path: 'registries', message: 'must list at least one registry' }]);
  const region = deploymentRegion(config);
  return { account: first.accountId, region, partition: partitionFor(region) };
}

/** The partition of a region, or a {@link ConfigError} saying the region is unknown. */
export function partitionFor(region: string): Partition {
  const info = partitionOfRegion(region);
  if (!info) {
    throw new ConfigError([
      {
        path: 'region',
        message: `'${region}' is not an AWS region this project knows: pass --region with a valid one`,
      },
    ]);
  }
  return info.partition;
}

/**
 * Problems that make a configuration impossible to deploy to `deployment`: an IAM user of one partition can
 * never be granted repositories of another (ARNs, IAM and credentials are per partition), so such a registry
 * needs its own deployment in that partition.
 */
export function deploymentIssues(config: Config, deployment: Deployment): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  config.registries.forEach((r, i) => {
    if (r.partition !== deployment.partition) {
      issues.push({
        path: `registries[${i}].hostname`,
        message:
          `${r.hostname} is in partition ${r.partition} but the stacks deploy to ${deployment.region} (${deployment.partition}): ` +
          `IAM cannot grant across partitions; deploy this registry from its own configuration to a region of ${r.partition}`,
      });
    }
  });
  return issues;
}

/**
 * What may work but needs the operator's attention, as sentences for CDK warnings: a registry in another
 * account (its repository policy must admit the pull user, and its pushes must be forwarded) or another region
 * (its push events stay in that region unless forwarded: stacks/README.md, "Forwarding ECR events from other
 * accounts or regions").
 */
export function deploymentWarnings(config: Config, deployment: Deployment): string[] {
  const warnings: string[] = [];
  for (const r of config.registries) {
    if (r.kind === 'public') continue;
    if (r.accountId !== deployment.account) {
      warnings.push(
        `registry '${r.name}' (${r.hostname}) is in account ${r.accountId}, not ${deployment.account}: add a repository policy there ` +
          `that allows the pull user, and forward its ECR push events to this account (stacks/README.md)`,
      );
    } else if (r.region !== deployment.region) {
      warnings.push(
        `registry '${r.name}' (${r.hostname}) is in ${r.region}, not ${deployment.region}: ECR emits its push events in ${r.region}; ` +
          `forward them to this region's default bus (stacks/README.md) or pushes there are only checked by the audit`,
      );
    }
  }
  return warnings;
}

/**
 * `sst.config.ts`'s `config()`: the app name and the region the configuration implies (`--region` still
 * overrides it).
 */
export function sstAppSettings(input: ConfigInput): { name: string; region: string } {
  const config = assertConfig(input, 'nvcf-ecr.config.ts');
  return { name: APP_NAME, region: defaultDeployment(config).region };
}
