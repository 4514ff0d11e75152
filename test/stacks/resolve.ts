import { FUNCTIONS, type FunctionKey } from '@nvcf-ecr/core/events';
import {
  type CfnTemplate,
  must,
  resourcesOfType,
  STACK_IDS,
  STAGE,
  type StackId,
  type Synthesized,
} from './synth.ts';

/**
 * Resolves the CloudFormation intrinsics of synthesised templates into the concrete values CloudFormation
 * would produce for the deployment, so IAM policies can be simulated on real ARNs. Physical names come
 * from the templates (`Name`, `UserName`, `BucketName`, ...); where CloudFormation invents part of a
 * value, this picks a fixed stand-in: secrets get the suffix {@link SECRET_SUFFIX}, keys an id derived
 * from their logical id ({@link keyIdOf}).
 */

/** Secrets Manager appends `-` and 6 random characters to a secret's name in its ARN. */
export const SECRET_SUFFIX = 'AbCdEf';

/** A stable, valid KMS key id for a key's logical id. */
export function keyIdOf(logicalId: string): string {
  const hex = [...logicalId]
    .reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7)
    .toString(16)
    .padStart(8, '0');
  return `${hex}-0000-4000-8000-${hex.slice(0, 4)}${hex}`;
}

export class Resolver {
  readonly #s: Synthesized;

  public constructor(synthesized: Synthesized) {
    this.#s = synthesized;
  }

  /** Resolves `value` as it appears in `stackId`'s template. */
  public resolve(stackId: keyof Synthesized['json'], value: unknown): unknown {
    const template = this.#s.json[stackId];
    if (Array.isArray(value)) return value.map((v) => this.resolve(stackId, v));
    if (value === null || typeof value !== 'object') return value;
    const entries = Object.entries(value as Record<string, unknown>);
    const [first] = entries;
    if (entries.length === 1 && first && (first[0] === 'Ref' || first[0].startsWith('Fn::'))) {
      return this.#intrinsic(stackId, template, first[0], first[1]);
    }
    return Object.fromEntries(entries.map(([k, v]) => [k, this.resolve(stackId, v)]));
  }

  /** Resolves to a string, or fails naming the value. */
  public string(stackId: keyof Synthesized['json'], value: unknown): string {
    const r = this.resolve(stackId, value);
    if (typeof r !== 'string') throw new Error(`expected a string, got ${JSON.stringify(r)}`);
    return r;
  }

  #intrinsic(stackId: keyof Synthesized['json'], template: CfnTemplate, fn: string, arg: unknown): unknown {
    const { partition, region, account } = this.#s;
    switch (fn) {
      case 'Ref': {
        const name = arg as string;
        const pseudo: Record<string, string> = {
          'AWS::Partition': partition,
          'AWS::Region': region,
          'AWS::AccountId': account,
          'AWS::URLSuffix': 'amazonaws.com',
        };
        if (name in pseudo) return pseudo[name];
        return this.#ref(stackId, template, name);
      }
      case 'Fn::GetAtt': {
        const [logicalId, attribute] = arg as [string, string];
        return this.#getAtt(stackId, template, logicalId, attribute);
      }
      case 'Fn::Join': {
        const [separator, parts] = arg as [string, unknown[]];
        return parts.map((p) => this.string(stackId, p)).join(separator);
      }
      case 'Fn::ImportValue': {
        const exportName = this.string(stackId, arg);
        for (const [otherId, other] of Object.entries(this.#s.json) as [
          keyof Synthesized['json'],
          CfnTemplate,
        ][]) {
          for (const output of Object.values(other.Outputs ?? {})) {
            if (output.Export?.Name === exportName) return this.resolve(otherId, output.Value);
          }
        }
        throw new Error(`no stack exports ${exportName}`);
      }
      default:
        throw new Error(`the resolver does not handle ${fn}`);
    }
  }

  #resource(template: CfnTemplate, logicalId: string) {
    const resource = template.Resources[logicalId];
    if (!resource) throw new Error(`no resource ${logicalId}`);
    return resource;
  }

  #ref(stackId: keyof Synthesized['json'], template: CfnTemplate, logicalId: string): string {
    const r = this.#resource(template, logicalId);
    const p = r.Properties;
    const prop = (key: string) => this.string(stackId, p[key]);
    switch (r.Type) {
      case 'AWS::SecretsManager::Secret':
        return `arn:${this.#s.partition}:secretsmanager:${this.#s.region}:${this.#s.account}:secret:${prop('Name')}-${SECRET_SUFFIX}`;
      case 'AWS::Events::EventBus':
        return prop('Name');
      case 'AWS::S3::Bucket':
        return prop('BucketName');
      case 'AWS::Logs::LogGroup':
        return prop('LogGroupName');
      case 'AWS::Lambda::Function':
        return prop('FunctionName');
      case 'AWS::IAM::User':
        return prop('UserName');
      case 'AWS::KMS::Key':
        return keyIdOf(logicalId);
      case 'AWS::SNS::Topic':
        return `arn:${this.#s.partition}:sns:${this.#s.region}:${this.#s.account}:${prop('TopicName')}`;
      case 'AWS::SQS::Queue':
        return `https://sqs.${this.#s.region}.amazonaws.com/${this.#s.account}/${logicalId}`;
      default:
        throw new Error(`the resolver does not know what Ref of ${r.Type} returns`);
    }
  }

  #getAtt(
    stackId: keyof Synthesized['json'],
    template: CfnTemplate,
    logicalId: string,
    attribute: string,
  ): string {
    const r = this.#resource(template, logicalId);
    const { partition, region, account } = this.#s;
    const arn = (service: string, resource: string, withRegion = true) =>
      `arn:${partition}:${service}:${withRegion ? region : ''}:${service === 's3' ? '' : account}:${resource}`;
    const name = (key: string) => this.string(stackId, r.Properties[key]);
    const key = `${r.Type}.${attribute}`;
    switch (key) {
      case 'AWS::KMS::Key.Arn':
        return arn('kms', `key/${keyIdOf(logicalId)}`);
      case 'AWS::IAM::User.Arn':
        return `arn:${partition}:iam::${account}:user/${name('UserName')}`;
      case 'AWS::IAM::Role.Arn':
        return `arn:${partition}:iam::${account}:role/${logicalId}`;
      case 'AWS::Events::EventBus.Arn':
        return arn('events', `event-bus/${name('Name')}`);
      case 'AWS::Events::Rule.Arn':
        return arn('events', `rule/${name('Name')}`);
      case 'AWS::SQS::Queue.Arn':
        return arn('sqs', logicalId);
      case 'AWS::SQS::Queue.QueueName':
        return logicalId;
      case 'AWS::S3::Bucket.Arn':
        return `arn:${partition}:s3:::${name('BucketName')}`;
      case 'AWS::Logs::LogGroup.Arn':
        return arn('logs', `log-group:${name('LogGroupName')}:*`);
      case 'AWS::Lambda::Function.Arn':
        return arn('lambda', `function:${name('FunctionName')}`);
      case 'AWS::SNS::Topic.TopicArn':
        return arn('sns', name('TopicName'));
      case 'AWS::CloudWatch::Alarm.Arn':
        return arn('cloudwatch', `alarm:${name('AlarmName')}`);
      default:
        throw new Error(`the resolver does not know ${key}`);
    }
  }
}

/** A function's execution role as deployed: its stack, ARN and inline policies with intrinsics resolved. */
export interface Role {
  readonly stack: StackId;
  readonly arn: string;
  readonly policies: { name: string; document: Record<string, unknown> }[];
}

export function roleOf(s: Synthesized, key: FunctionKey, resolver: Resolver): Role {
  for (const stack of STACK_IDS) {
    const fn = resourcesOfType(s.json[stack], 'AWS::Lambda::Function').find(
      ([, f]) => f.Properties['FunctionName'] === `${STAGE}-${FUNCTIONS[key].name}`,
    );
    if (!fn) continue;
    const [roleId] = (fn[1].Properties['Role'] as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'];
    const role = must(s.json[stack].Resources[roleId], roleId);
    const policies = (role.Properties['Policies'] as { PolicyName: string; PolicyDocument: unknown }[]).map(
      (p) => ({
        name: p.PolicyName,
        document: resolver.resolve(stack, p.PolicyDocument) as Record<string, unknown>,
      }),
    );
    return { stack, arn: `arn:${s.partition}:iam::${s.account}:role/${roleId}`, policies };
  }
  throw new Error(`no function ${key}`);
}
