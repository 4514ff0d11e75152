import { Members } from '../../server/members.ts';
import type { BusRecord, RuleRecord, Tag, TargetRecord } from './backend.ts';
import { eventsErrors, eventsMembers } from './errors.ts';
import { pathProblem } from './input.ts';

/**
 * Reading EventBridge request members (the sandbox's one reader under EventBridge's rules) and shaping its
 * answers: bus and tag parameters, pagination, rule and bus views, targets.
 */

export type Input = Record<string, unknown>;

// Member constraints of the EventBridge Smithy model.
export const RULE_NAME = /^[.\-_A-Za-z0-9]+$/;
export const BUS_NAME_OR_ARN =
  /^(arn:aws[\w-]*:events:[a-z]+-[a-z]+-[\w-]+:[0-9]{12}:event-bus\/)?[/.\-_A-Za-z0-9]+$/;
export const BUS_NAME = /^[/.\-_A-Za-z0-9]+$/;
export const TARGET_ID = /^[.\-_A-Za-z0-9]+$/;
export const ARN = /^arn:[^:]+:[^:]+:[^:]*:[^:]*:.+$/;
/** Target parameters of services the sandbox does not emulate: refused, rather than silently ignored. */
export const UNSUPPORTED_TARGET_PARAMETERS = [
  'KinesisParameters',
  'RunCommandParameters',
  'EcsParameters',
  'BatchParameters',
  'SqsParameters',
  'HttpParameters',
  'RedshiftDataParameters',
  'SageMakerPipelineParameters',
  'AppSyncParameters',
];
/** Request members read under EventBridge's rules. */
export function ev(input: Input): Members {
  return new Members(input, eventsMembers);
}

export function busParam(input: Input, member = 'EventBusName'): string | undefined {
  return ev(input).str(member, { min: 1, max: 1600, pattern: BUS_NAME_OR_ARN });
}

export function tagsParam(input: Input, member = 'Tags'): Tag[] {
  const list = ev(input).list(member, { min: 0, max: 50, element: 'Tag' }) ?? [];
  return list.map((raw, i) => {
    if (!raw || typeof raw !== 'object' || Array.isArray(raw))
      throw eventsErrors.serialization(member, 'a list of Tag structures');
    const t = raw as Input;
    return {
      Key: ev(t).str('Key', { required: true, min: 1, max: 128, path: `${member}.${i + 1}.member.Key` }),
      Value: ev(t).str('Value', {
        required: true,
        min: 0,
        max: 256,
        path: `${member}.${i + 1}.member.Value`,
      }),
    };
  });
}

/** Opaque pagination over a sorted list: NextToken encodes the offset. */
export function paginate<T>(items: T[], input: Input): { items: T[]; NextToken?: string } {
  const limit = ev(input).int('Limit', { min: 1, max: 100 }) ?? 100;
  const token = ev(input).str('NextToken', { min: 1, max: 2048 });
  let start = 0;
  if (token !== undefined) {
    const decoded = Buffer.from(token, 'base64url').toString('utf8');
    if (!/^\d+$/.test(decoded)) throw eventsErrors.invalidNextToken();
    start = Number(decoded);
  }
  const page = items.slice(start, start + limit);
  const next = start + limit;
  return next < items.length
    ? { items: page, NextToken: Buffer.from(String(next)).toString('base64url') }
    : { items: page };
}

export function ruleView(r: RuleRecord): Input {
  return {
    Name: r.name,
    Arn: r.arn,
    ...(r.eventPattern !== undefined ? { EventPattern: r.eventPattern } : {}),
    ...(r.scheduleExpression !== undefined ? { ScheduleExpression: r.scheduleExpression } : {}),
    State: r.state,
    ...(r.description !== undefined ? { Description: r.description } : {}),
    ...(r.roleArn !== undefined ? { RoleArn: r.roleArn } : {}),
    EventBusName: r.busName,
  };
}

export function busView(b: BusRecord): Input {
  return {
    Name: b.name,
    Arn: b.arn,
    ...(b.description !== undefined ? { Description: b.description } : {}),
    CreationTime: new Date(b.creationTime),
    LastModifiedTime: new Date(b.lastModifiedTime),
  };
}

export function target(raw: unknown, i: number): TargetRecord {
  const at = `targets.${i + 1}.member`;
  if (!raw || typeof raw !== 'object' || Array.isArray(raw))
    throw eventsErrors.serialization('Targets', 'a list of Target structures');
  const t = raw as Input;
  const id = ev(t).str('Id', { required: true, min: 1, max: 64, pattern: TARGET_ID, path: `${at}.Id` });
  const arn = ev(t).str('Arn', { required: true, min: 1, max: 1600, path: `${at}.Arn` });
  if (!ARN.test(arn)) throw eventsErrors.invalidArn(arn);
  for (const p of UNSUPPORTED_TARGET_PARAMETERS) {
    if (t[p] !== undefined)
      throw eventsErrors.invalidParameter(p, `the sandbox does not emulate targets that need ${p}.`);
  }
  const roleArn = ev(t).str('RoleArn', { min: 1, max: 1600, path: `${at}.RoleArn` });
  const input = ev(t).str('Input', { max: 8192, path: `${at}.Input` });
  const inputPath = ev(t).str('InputPath', { max: 256, path: `${at}.InputPath` });
  const transformerRaw = ev(t).object('InputTransformer')?.input;
  const given = [input, inputPath, transformerRaw].filter((x) => x !== undefined).length;
  // The rule is the API reference's ("You can use only one of Input, InputPath, InputTransformer"); the
  // wording of the answer is the sandbox's.
  if (given > 1)
    throw eventsErrors.invalidParameter(
      'Target',
      `Only one of Input, InputPath, or InputTransformer may be provided for target ${id}.`,
    );
  if (input !== undefined) {
    try {
      JSON.parse(input);
    } catch {
      throw eventsErrors.invalidParameter('Input', 'Input must be valid JSON.');
    }
  }
  if (inputPath !== undefined) {
    const problem = pathProblem(inputPath);
    if (problem) throw eventsErrors.invalidParameter('InputPath', `${problem}.`);
  }
  let transformer: TargetRecord['InputTransformer'];
  if (transformerRaw) {
    const template = ev(transformerRaw).str('InputTemplate', {
      required: true,
      min: 1,
      max: 8192,
      path: `${at}.InputTransformer.InputTemplate`,
    });
    const mapRaw = ev(transformerRaw).object('InputPathsMap')?.input;
    const map: Record<string, string> = {};
    for (const [k, v] of Object.entries(mapRaw ?? {})) {
      if (typeof v !== 'string') throw eventsErrors.serialization('InputPathsMap', 'a map of strings');
      if (!/^[A-Za-z0-9_-]+$/.test(k) || k.startsWith('AWS.'))
        throw eventsErrors.invalidParameter('InputPathsMap', `'${k}' is not a valid key.`);
      const problem = pathProblem(v);
      if (problem) throw eventsErrors.invalidParameter('InputPathsMap', `${problem}.`);
      map[k] = v;
    }
    transformer = { InputTemplate: template, ...(mapRaw ? { InputPathsMap: map } : {}) };
  }
  const retryRaw = ev(t).object('RetryPolicy')?.input;
  const retry = retryRaw
    ? {
        MaximumRetryAttempts: ev(retryRaw).int('MaximumRetryAttempts', {
          min: 0,
          max: 185,
          path: `${at}.RetryPolicy.MaximumRetryAttempts`,
        }),
        MaximumEventAgeInSeconds: ev(retryRaw).int('MaximumEventAgeInSeconds', {
          min: 60,
          max: 86400,
          path: `${at}.RetryPolicy.MaximumEventAgeInSeconds`,
        }),
      }
    : undefined;
  const dlqRaw = ev(t).object('DeadLetterConfig')?.input;
  const dlqArn = dlqRaw
    ? ev(dlqRaw).str('Arn', { min: 1, max: 1600, path: `${at}.DeadLetterConfig.Arn` })
    : undefined;
  if (dlqArn !== undefined && !ARN.test(dlqArn)) throw eventsErrors.invalidArn(dlqArn);
  return {
    Id: id,
    Arn: arn,
    ...(roleArn !== undefined ? { RoleArn: roleArn } : {}),
    ...(input !== undefined ? { Input: input } : {}),
    ...(inputPath !== undefined ? { InputPath: inputPath } : {}),
    ...(transformer ? { InputTransformer: transformer } : {}),
    ...(retry ? { RetryPolicy: retry } : {}),
    ...(dlqRaw ? { DeadLetterConfig: dlqArn !== undefined ? { Arn: dlqArn } : {} } : {}),
  };
}
