import type { JsonOperation } from '../../server/aws.ts';
import type { ApiDestinationRecord, ConnectionRecord, DestinationsBackend } from './destinations.ts';
import { eventsErrors } from './errors.ts';
import { ev } from './request.ts';

/**
 * EventBridge's connection and API destination operations (AWS JSON 1.1, `AWSEvents.<Op>`): Create, Describe,
 * List and Delete of both, with the members the SDK model constrains (names `[\.\-_A-Za-z0-9]+` of 1–64,
 * `InvocationRateLimitPerSecond` ≥ 1). OAuth connections are refused: the sandbox runs no token endpoint.
 * Describe never answers a secret value, as AWS answers only `ApiKeyName` and `Username`.
 */

type Input = Record<string, unknown>;

const NAME = /^[.\-_A-Za-z0-9]+$/;
const METHODS = ['POST', 'GET', 'HEAD', 'OPTIONS', 'PUT', 'PATCH', 'DELETE'];

function name(input: Input): string {
  const v = ev(input).str('Name', { required: true, max: 64 });
  if (!NAME.test(v) || v.length < 1)
    throw eventsErrors.validation(
      'name',
      v,
      'Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+',
    );
  return v;
}

/** AWS requires HTTPS; the sandbox also takes its own loopback listeners (see `destinations.ts`). */
function endpoint(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw eventsErrors.invalidParameter('InvocationEndpoint', 'the endpoint must be an absolute HTTPS URL.');
  }
  const loopback = u.protocol === 'http:' && (u.hostname === '127.0.0.1' || u.hostname === 'localhost');
  if (u.protocol !== 'https:' && !loopback)
    throw eventsErrors.invalidParameter('InvocationEndpoint', 'the endpoint must use HTTPS.');
  return url;
}

/** The members of each authorization the sandbox emulates: its parameters, the name Describe answers, the secret. */
const AUTH_MEMBERS = {
  API_KEY: { parameters: 'ApiKeyAuthParameters', keyName: 'ApiKeyName', secret: 'ApiKeyValue' },
  BASIC: { parameters: 'BasicAuthParameters', keyName: 'Username', secret: 'Password' },
} as const;

function connectionView(c: ConnectionRecord): Input {
  return {
    ConnectionArn: c.arn,
    Name: c.name,
    ...(c.description ? { Description: c.description } : {}),
    ConnectionState: 'AUTHORIZED',
    AuthorizationType: c.authorizationType,
    AuthParameters:
      c.authorizationType === 'API_KEY'
        ? { ApiKeyAuthParameters: { ApiKeyName: c.keyName } }
        : { BasicAuthParameters: { Username: c.keyName } },
    CreationTime: new Date(c.creationTime),
    LastModifiedTime: new Date(c.creationTime),
    LastAuthorizedTime: new Date(c.creationTime),
  };
}

function destinationView(d: ApiDestinationRecord): Input {
  return {
    ApiDestinationArn: d.arn,
    Name: d.name,
    ...(d.description ? { Description: d.description } : {}),
    ApiDestinationState: 'ACTIVE',
    ConnectionArn: d.connectionArn,
    InvocationEndpoint: d.invocationEndpoint,
    HttpMethod: d.httpMethod,
    InvocationRateLimitPerSecond: d.invocationRateLimitPerSecond,
    CreationTime: new Date(d.creationTime),
    LastModifiedTime: new Date(d.creationTime),
  };
}

/** One kind of record as its Describe, List and Delete operations read it. */
interface RecordKind<T extends { arn: string }> {
  kind: 'Connection' | 'ApiDestination';
  get(region: string, name: string): T;
  list(region: string): T[];
  delete(region: string, name: string): void;
  view(record: T): Input;
  /** What Delete answers. */
  deleted(record: T): Input;
}

/** `Describe<Kind>`, `List<Kind>s` and `Delete<Kind>`: authorised on the record's ARN (List on `*`). */
function describeListDelete<T extends { arn: string }>(k: RecordKind<T>): Record<string, JsonOperation> {
  return {
    async [`Describe${k.kind}`](ctx, input) {
      const record = k.get(ctx.region, name(input));
      await ctx.authorize(`events:Describe${k.kind}`, record.arn);
      return k.view(record);
    },
    async [`List${k.kind}s`](ctx) {
      await ctx.authorize(`events:List${k.kind}s`, '*');
      return { [`${k.kind}s`]: k.list(ctx.region).map((r) => k.view(r)) };
    },
    async [`Delete${k.kind}`](ctx, input) {
      const n = name(input);
      const record = k.get(ctx.region, n);
      await ctx.authorize(`events:Delete${k.kind}`, record.arn);
      k.delete(ctx.region, n);
      return k.deleted(record);
    },
  };
}

export function destinationHandlers(backend: DestinationsBackend): Record<string, JsonOperation> {
  return {
    async CreateConnection(ctx, input) {
      const n = name(input);
      const members = ev(input);
      const description = members.str('Description', { max: 512 });
      const type = members.str('AuthorizationType', { required: true, max: 2048 });
      const auth = members.object('AuthParameters') ?? ev({});
      await ctx.authorize(
        'events:CreateConnection',
        `arn:${ctx.world.partition}:events:${ctx.region}:${ctx.world.accountId}:connection/${n}`,
      );
      if (type === 'OAUTH_CLIENT_CREDENTIALS')
        throw eventsErrors.invalidParameter(
          'AuthorizationType',
          'the sandbox does not emulate OAuth connections.',
        );
      if (type !== 'API_KEY' && type !== 'BASIC')
        throw eventsErrors.validation(
          'authorizationType',
          type,
          'Member must satisfy enum value set: [OAUTH_CLIENT_CREDENTIALS, BASIC, API_KEY]',
        );
      const names = AUTH_MEMBERS[type];
      const p = auth.object(names.parameters);
      if (!p)
        throw eventsErrors.invalidParameter(
          'AuthParameters',
          `${names.parameters} are required for ${type}.`,
        );
      const c = backend.createConnection(ctx.region, {
        name: n,
        description,
        authorizationType: type,
        keyName: p.str(names.keyName, { required: true, max: 512 }),
        secretValue: p.str(names.secret, { required: true, max: 512, sensitive: true }),
      });
      return {
        ConnectionArn: c.arn,
        ConnectionState: 'AUTHORIZED',
        CreationTime: new Date(c.creationTime),
        LastModifiedTime: new Date(c.creationTime),
      };
    },

    ...describeListDelete({
      kind: 'Connection',
      get: (region, n) => backend.getConnection(region, n),
      list: (region) => backend.listConnections(region),
      delete: (region, n) => backend.deleteConnection(region, n),
      view: connectionView,
      deleted: (c) => ({ ConnectionArn: c.arn, ConnectionState: 'DELETING' }),
    }),

    async CreateApiDestination(ctx, input) {
      const n = name(input);
      const members = ev(input);
      const connectionArn = members.str('ConnectionArn', { required: true, max: 1600 });
      const invocationEndpoint = endpoint(members.str('InvocationEndpoint', { required: true, max: 2048 }));
      const httpMethod = members.str('HttpMethod', { required: true, max: 2048 });
      if (!METHODS.includes(httpMethod))
        throw eventsErrors.validation(
          'httpMethod',
          httpMethod,
          `Member must satisfy enum value set: [${METHODS.join(', ')}]`,
        );
      const rate = input['InvocationRateLimitPerSecond'] ?? 300;
      if (typeof rate !== 'number' || !Number.isInteger(rate))
        throw eventsErrors.serialization('InvocationRateLimitPerSecond', 'an integer');
      if (rate < 1)
        throw eventsErrors.validation(
          'invocationRateLimitPerSecond',
          rate,
          'Member must have value greater than or equal to 1',
        );
      await ctx.authorize(
        'events:CreateApiDestination',
        `arn:${ctx.world.partition}:events:${ctx.region}:${ctx.world.accountId}:api-destination/${n}`,
      );
      const d = backend.createApiDestination(ctx.region, {
        name: n,
        description: members.str('Description', { max: 512 }),
        connectionArn,
        invocationEndpoint,
        httpMethod,
        invocationRateLimitPerSecond: rate,
      });
      return {
        ApiDestinationArn: d.arn,
        ApiDestinationState: 'ACTIVE',
        CreationTime: new Date(d.creationTime),
        LastModifiedTime: new Date(d.creationTime),
      };
    },

    ...describeListDelete({
      kind: 'ApiDestination',
      get: (region, n) => backend.getApiDestination(region, n),
      list: (region) => backend.listApiDestinations(region),
      delete: (region, n) => backend.deleteApiDestination(region, n),
      view: destinationView,
      deleted: () => ({}),
    }),
  };
}
