import { type Config, ConfigError, forDeployment } from '@nvcf-ecr/core/config';
import { withStage } from '@nvcf-ecr/core/events';
import { Annotations } from 'aws-cdk-lib';
import { NagSuppressions } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import type { App, Stack } from 'sst/constructs';
import { type Deployment, deploymentIssues, deploymentWarnings, partitionFor, useConfig } from './config.ts';

/** What every stack starts from: the validated configuration, where it deploys, and how it names things. */
export interface StackSettings {
  readonly config: Config;
  readonly deployment: Deployment;
  readonly stage: string;
  /** A physical name with the stage prefix (`withStage`), so several stages can share an account. */
  readonly named: (name: string) => string;
}

/**
 * Prepares a stack: reads the configuration bound to the app with the names of this stage and region, refuses
 * one that cannot deploy here
 * ({@link deploymentIssues}), warns about what needs the operator's attention, and removes SST's per-stack
 * custom-resource Lambda. That function (1 GB, 15 minutes, AWS-managed logging policy) serves SST's own
 * constructs (`Config`, sites, sourcemap upload), none of which these stacks use (functions are built without
 * sourcemaps), so deploying it would only add an idle, over-privileged function to the account. (Its code
 * asset stays registered with the stack's synthesizer, which cannot unregister it: `sst deploy` still uploads
 * that zip to the bootstrap bucket, and nothing deploys it.)
 */
export function stackSettings(app: App, stack: Stack, options: { warn?: boolean } = {}): StackSettings {
  // The names this stage and region give what the configuration leaves unnamed (core `forDeployment`).
  const config = forDeployment(
    useConfig(app),
    { stage: app.stage, region: app.region },
    `the ${stack.node.id} stack`,
  );
  const deployment: Deployment = {
    account: app.account,
    region: app.region,
    partition: partitionFor(app.region),
  };
  const issues = deploymentIssues(config, deployment);
  if (issues.length > 0)
    throw new ConfigError(issues, `the ${stack.node.id} stack (deploying to ${app.region})`);
  if (options.warn) {
    deploymentWarnings(config, deployment).forEach((w, i) => {
      Annotations.of(stack).addWarningV2(`nvcf-ecr:deployment-${i}`, w);
    });
  }
  stack.node.tryRemoveChild('CustomResourceHandler');
  return { config, deployment, stage: app.stage, named: (name) => withStage(app.stage, name) };
}

/** One cdk-nag suppression: the rule, why it does not apply here, and (for IAM5/IAM4) the exact finding. */
export interface Suppression {
  readonly id: string;
  readonly reason: string;
  readonly appliesTo?: readonly string[];
}

/**
 * Records why a cdk-nag AwsSolutions finding does not apply to `construct` (and its children). Every
 * suppression names its rule and reason; IAM findings also name the exact action or resource they cover, so a
 * new wildcard is still reported.
 */
export function suppress(construct: IConstruct, suppressions: readonly Suppression[]): void {
  NagSuppressions.addResourceSuppressions(
    construct,
    suppressions.map((s) => ({
      id: s.id,
      reason: s.reason,
      ...(s.appliesTo ? { appliesTo: [...s.appliesTo] } : {}),
    })),
    true,
  );
}
