import type { ConfigIssue } from '../errors.ts';

/**
 * The names a deployment gives what it creates when the configuration names none: the pull user and the
 * rotated secret of each registry, and the NGC API key secret. One function per name, used by the stacks, the
 * handlers (through the configuration the stacks hand them), the CLI and the sandbox, so they always agree.
 *
 * A deployment is a stage in a region. IAM names are account-wide, so a default user name carries the stage
 * and the region: `dev` and `prod` in one account, or one configuration deployed to two regions, never claim
 * the same user. Secret names are per region, so they carry the stage. Without a deployment (the sandbox emulates
 * one account with one deployment, and the CLI when no stage is named) the names carry neither.
 * Names the configuration gives are used as given, in every stage and region.
 */

/** Where a configuration is deployed: an SST stage in an AWS region. */
export interface Deployment {
  readonly stage: string;
  readonly region: string;
}

/** IAM user names are 1–64 characters (IAM API reference, `CreateUser`). */
export const IAM_USER_NAME_MAX = 64;

/** The pull user of registry `name`: `nvcf-ecr-<stage>-<region>-<name>`, or `nvcf-ecr-<name>` outside a deployment. */
export function defaultUserName(name: string, at?: Deployment): string {
  return at ? `nvcf-ecr-${at.stage}-${at.region}-${name}` : `nvcf-ecr-${name}`;
}

/** The rotated secret of registry `name`: `nvcf-ecr/<stage>/<name>/pull-key`, or `nvcf-ecr/<name>/pull-key`. */
export function defaultSecretName(name: string, at?: Deployment): string {
  return at ? `nvcf-ecr/${at.stage}/${name}/pull-key` : `nvcf-ecr/${name}/pull-key`;
}

/** The NGC API key secret: `nvcf-ecr/<stage>/ngc-api-key`, or `nvcf-ecr/ngc-api-key`. */
export function defaultNgcSecretName(at?: Deployment): string {
  return at ? `nvcf-ecr/${at.stage}/ngc-api-key` : 'nvcf-ecr/ngc-api-key';
}

/** What {@link nameIssues} reads: the resolved names and whether the configuration gave them. */
export interface NamedConfig {
  readonly ngc: { readonly apiKeySecretName: string };
  readonly ngcSecretNamed: boolean;
  readonly registries: readonly {
    readonly name: string;
    readonly userName: string;
    readonly secretName: string;
    readonly named: { readonly userName: boolean; readonly secretName: boolean };
  }[];
}

/**
 * Names one deployment cannot create: a user name longer than IAM allows, and two resources of one kind with
 * the same name (CloudFormation would fail with "already exists" half-way through the deploy).
 */
export function nameIssues(config: NamedConfig, at?: Deployment): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const users = new Map<string, number>();
  const secrets = new Map<string, string>([[config.ngc.apiKeySecretName, 'ngc.apiKeySecretName']]);
  config.registries.forEach((r, i) => {
    const path = (key: string) => `registries[${i}].${key}`;
    if (r.userName.length > IAM_USER_NAME_MAX) {
      issues.push({
        path: path('userName'),
        message:
          `the default pull user name '${r.userName}' is ${r.userName.length} characters, more than IAM's ${IAM_USER_NAME_MAX}` +
          `${at ? ` (it carries the stage '${at.stage}' and the region ${at.region})` : ''}: set userName, or use a shorter stage or registry name`,
      });
    }
    const otherUser = users.get(r.userName);
    if (otherUser !== undefined) {
      issues.push({
        path: path('userName'),
        message: `pull user '${r.userName}' is also registries[${otherUser}]'s: give each registry its own userName (or leave it out for the default)`,
      });
    } else users.set(r.userName, i);
    const otherSecret = secrets.get(r.secretName);
    if (otherSecret !== undefined) {
      issues.push({
        path: path('secretName'),
        message: `secret '${r.secretName}' is also ${otherSecret}: give each registry its own secretName (or leave it out for the default)`,
      });
    } else secrets.set(r.secretName, path('secretName'));
  });
  return issues;
}
