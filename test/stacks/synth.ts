import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertConfig, type Config } from '@nvcf-ecr/core/config';
import { partitionOfRegion } from '@nvcf-ecr/core/ecr';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { STACK_IDS, type StackId, synthesize } from '../../stacks/lib/synth.ts';
import { type ConfigName, configs } from './configs.ts';

/**
 * Synthesises the app for one of the test configurations, offline, with cdk-nag's AwsSolutions pack applied,
 * and hands back per-stack templates, raw JSON and annotations. Synthesis takes about a second, so each
 * configuration is synthesised once per test file (cached here) and every test of the file reads the result.
 * Functions get SST's placeholder code (`bundle: false`); `synth-command.test.ts` covers real bundling.
 */

export const STAGE = 'test';

export interface StackMessage {
  readonly level: 'info' | 'warning' | 'error';
  /** Construct path of the resource the message is about. */
  readonly path: string;
  readonly text: string;
}

export interface Synthesized {
  readonly config: Config;
  readonly account: string;
  readonly region: string;
  readonly partition: string;
  readonly templates: Readonly<Record<StackId, Template>>;
  readonly json: Readonly<Record<StackId, CfnTemplate>>;
  readonly messages: Readonly<Record<StackId, readonly StackMessage[]>>;
  /** The stacks each stack deploys after (the cloud assembly's dependencies, as `sst deploy` orders them). */
  readonly dependencies: Readonly<Record<StackId, readonly StackId[]>>;
}

export interface CfnResource {
  readonly Type: string;
  /** Every resource these stacks synthesise has properties. */
  readonly Properties: Record<string, unknown>;
  readonly DependsOn?: string | string[];
  readonly DeletionPolicy?: string;
  readonly UpdateReplacePolicy?: string;
  readonly Metadata?: Record<string, unknown>;
}

export interface CfnTemplate {
  readonly Resources: Record<string, CfnResource>;
  readonly Outputs?: Record<string, { Value: unknown; Export?: { Name: string } }>;
}

const cache = new Map<string, Promise<Synthesized>>();

export function synth(name: ConfigName, stage = STAGE): Promise<Synthesized> {
  const key = `${name}/${stage}`;
  let pending = cache.get(key);
  if (!pending) {
    pending = run(name, stage);
    cache.set(key, pending);
  }
  return pending;
}

async function run(name: ConfigName, stage: string): Promise<Synthesized> {
  const outdir = await mkdtemp(join(tmpdir(), `nvcf-ecr-stack-test-${name}-`));
  try {
    const result = await synthesize({
      stage,
      config: configs[name],
      configSource: `test config '${name}'`,
      outdir,
      bundle: false,
      aspects: [new AwsSolutionsChecks({ verbose: true })],
    });
    const templates = {} as Record<StackId, Template>;
    const json = {} as Record<StackId, CfnTemplate>;
    const messages = {} as Record<StackId, StackMessage[]>;
    const dependencies = {} as Record<StackId, StackId[]>;
    const idOf = new Map(result.stacks.map((s) => [s.stackName, s.id]));
    for (const stack of result.stacks) {
      dependencies[stack.id] = result.assembly
        .getStackByName(stack.stackName)
        .dependencies.flatMap((d) => idOf.get(d.id) ?? []);
      templates[stack.id] = Template.fromJSON(stack.template);
      json[stack.id] = stack.template as unknown as CfnTemplate;
      messages[stack.id] = result.assembly.getStackByName(stack.stackName).messages.map((m) => ({
        level: m.level,
        path: m.id,
        text: typeof m.entry.data === 'string' ? m.entry.data : JSON.stringify(m.entry.data),
      }));
    }
    const partition = partitionOfRegion(result.deployment.region)?.partition ?? 'aws';
    return {
      config: result.config,
      ...result.deployment,
      partition,
      templates,
      json,
      messages,
      dependencies,
    };
  } finally {
    await rm(outdir, { recursive: true, force: true });
  }
}

/** The validated form of a test configuration (what the stacks saw). */
export function configOf(name: ConfigName): Config {
  return assertConfig(configs[name], name);
}

export { STACK_IDS, type StackId };

/** The resources of one type in a template, by logical id. */
export function resourcesOfType(template: CfnTemplate, type: string): [string, CfnResource][] {
  return Object.entries(template.Resources).filter(([, r]) => r.Type === type);
}

/** The one resource of `type` whose properties include `match` (shallow), or a failure naming what exists. */
export function findResource(
  template: CfnTemplate,
  type: string,
  match: Record<string, unknown>,
): [string, CfnResource] {
  const found = resourcesOfType(template, type).filter(([, r]) =>
    Object.entries(match).every(([k, v]) => JSON.stringify(r.Properties[k]) === JSON.stringify(v)),
  );
  if (found.length !== 1) {
    throw new Error(`expected exactly one ${type} with ${JSON.stringify(match)}, found ${found.length}`);
  }
  return found[0] as [string, CfnResource];
}

/** `value`, or a failure naming what is missing (keeps lookups in tests free of optional chains). */
export function must<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`missing: ${what}`);
  return value;
}
