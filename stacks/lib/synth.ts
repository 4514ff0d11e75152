import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  assertConfig,
  type Config,
  type ConfigInput,
  forDeployment,
  loadConfig,
} from '@nvcf-ecr/core/config';
import { Aspects, type IAspect } from 'aws-cdk-lib';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { App } from 'sst/constructs';
import { initProject, useProject } from 'sst/project.js';
import { APP_NAME, bindConfig, type Deployment, defaultDeployment, projectConfig } from './config.ts';

/**
 * Synthesises the app offline: no AWS credentials, no STS call, no bootstrap lookup. SST's own `synth`
 * (what `sst deploy` runs) asks STS for the account and CloudFormation for the bootstrap stack; this builds
 * the same `App` with the account and region given (by default the ones the configuration implies) and runs
 * the same stacks from `sst.config.ts`. Used by `npm run synth` and the stack tests.
 *
 * Functions are bundled for real (SST's esbuild, exactly as `sst deploy` does) unless `bundle: false`, which
 * gives each function SST's inline placeholder code instead: every other property of the templates is the
 * same, so tests that do not look at code skip the bundling.
 */

/** The repository root: where `sst.config.ts`, `functions/` and `package.json` are. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The stacks in deployment order, as `sst.config.ts` lists them (the ids used for `<Stack>.template.json`). */
export const STACK_IDS = ['Validation', 'Notifications', 'Credentials', 'Audit'] as const;
export type StackId = (typeof STACK_IDS)[number];

export interface SynthOptions {
  readonly stage: string;
  /**
   * The configuration as written (validated here); default `nvcf-ecr.config.ts`. A resolved {@link Config}
   * is not accepted: resolving adds derived keys (`kind`, `region`, …) that the strict schema refuses.
   */
  readonly config?: ConfigInput | undefined;
  /** A configuration file (`.ts`, `.mjs` or `.json`) to load instead of `config`. */
  readonly configFile?: string | undefined;
  /** Names the configuration in error messages (e.g. its file). */
  readonly configSource?: string | undefined;
  /** Account and region to synthesise for; default {@link defaultDeployment} of the configuration. */
  readonly account?: string | undefined;
  readonly region?: string | undefined;
  /** The cloud assembly directory (templates and bundled function assets). */
  readonly outdir: string;
  /** Bundle the functions (default true). */
  readonly bundle?: boolean | undefined;
  /** Aspects to apply to the whole app before synthesis, e.g. cdk-nag's `AwsSolutionsChecks`. */
  readonly aspects?: readonly IAspect[] | undefined;
}

export interface SynthesizedStack {
  /** `Validation`, `Notifications`, `Credentials`, `Audit`. */
  readonly id: StackId;
  /** CloudFormation stack name: `<stage>-nvcf-ecr-<id>`. */
  readonly stackName: string;
  readonly template: Record<string, unknown>;
}

export interface SynthResult {
  /** The configuration with the names of the stage and region (core `forDeployment`). */
  readonly config: Config;
  readonly deployment: Omit<Deployment, 'partition'>;
  readonly stacks: readonly SynthesizedStack[];
  readonly assembly: CloudAssembly;
}

// SST keeps its project (paths, stage) in a module-level singleton and builds functions into a directory
// named after each function's construct address; synths run one at a time per process.
let queue: Promise<unknown> = Promise.resolve();

export function synthesize(options: SynthOptions): Promise<SynthResult> {
  const run = queue.then(() => synthesizeNow(options));
  queue = run.catch(() => undefined);
  return run;
}

async function synthesizeNow(options: SynthOptions): Promise<SynthResult> {
  // SST's App.finish() looks the bootstrap stack up in CloudFormation unless it runs in SST's test mode (the
  // lookup only serves the sourcemap uploader, and these functions are built without sourcemaps); and each
  // function build runs `npm install` for the packages SST marks external (none here), which must not reach
  // the registry. Set for the synth only, restored after.
  const restoreEnv = setEnv({
    NODE_ENV: 'test',
    npm_config_offline: 'true',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
  });

  const cwd = process.cwd();
  if (cwd !== ROOT) process.chdir(ROOT); // SST resolves handler paths against the working directory.
  // Each synth gets its own build directory: SST writes function bundles and its types file under
  // `.sst/`, which concurrent synths (parallel test files) would otherwise overwrite under each other.
  const scratch = await mkdtemp(join(tmpdir(), 'nvcf-ecr-synth-'));
  try {
    await initProject({ stage: options.stage, root: ROOT });
    const project = useProject();
    project.paths.out = scratch;
    project.paths.artifacts = join(scratch, 'artifacts');

    const config =
      options.configFile !== undefined
        ? await loadConfig(options.configFile)
        : options.config === undefined
          ? projectConfig()
          : assertConfig(options.config, options.configSource ?? 'the configuration');
    const implied = defaultDeployment(config);
    const deployment = {
      account: options.account ?? implied.account,
      region: options.region ?? implied.region,
    };

    const app = new App(
      {
        mode: 'deploy',
        stage: options.stage,
        name: APP_NAME,
        account: deployment.account,
        region: deployment.region,
        ...(options.bundle === false ? { isActiveStack: () => false } : {}),
      },
      { outdir: options.outdir },
    );
    bindConfig(app, config);
    const { default: sstConfig } = await import('../../sst.config.ts');
    await sstConfig.stacks(app);
    await app.finish();
    for (const aspect of options.aspects ?? []) Aspects.of(app).add(aspect);
    const assembly = app.synth();

    const prefix = `${options.stage}-${APP_NAME}-`;
    const stacks = STACK_IDS.map((id): SynthesizedStack => {
      const artifact = assembly.getStackByName(`${prefix}${id}`);
      return { id, stackName: artifact.stackName, template: artifact.template as Record<string, unknown> };
    });
    // The configuration as the stacks deployed it: with this stage's and region's names.
    return {
      config: forDeployment(config, { stage: options.stage, region: deployment.region }),
      deployment,
      stacks,
      assembly,
    };
  } finally {
    if (process.cwd() !== cwd) process.chdir(cwd);
    restoreEnv();
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Sets environment variables and returns a function that puts the previous values back. */
function setEnv(values: Readonly<Record<string, string>>): () => void {
  const previous = Object.keys(values).map((k) => [k, process.env[k]] as const);
  Object.assign(process.env, values);
  return () => {
    for (const [k, v] of previous) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}
