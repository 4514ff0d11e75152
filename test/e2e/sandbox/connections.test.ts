import {
  CreateApiDestinationCommand,
  CreateConnectionCommand,
  DeleteApiDestinationCommand,
  DeleteConnectionCommand,
  DescribeApiDestinationCommand,
  DescribeConnectionCommand,
  type EventBridgeClient,
  ListApiDestinationsCommand,
  ListConnectionsCommand,
} from '@aws-sdk/client-eventbridge';
import type { RunningSandbox } from '@nvcf-ecr/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clients, rejection, withSandbox } from '../../helpers/sandbox.ts';

// EventBridge connections read their members with the sandbox's one request reader, under EventBridge's
// rules: the member named in camelCase, and a credential never echoed in the error that refuses it.

let sb: RunningSandbox;
let eb: EventBridgeClient;

beforeAll(async () => {
  sb = await withSandbox();
  eb = clients(sb).events;
});
afterAll(() => sb.close());

describe('Sandbox: EventBridge connections', () => {
  it('creates an API-key connection and describes it without its key', async () => {
    const key = 'k'.repeat(40);
    await eb.send(
      new CreateConnectionCommand({
        Name: 'hook',
        AuthorizationType: 'API_KEY',
        AuthParameters: { ApiKeyAuthParameters: { ApiKeyName: 'Authorization', ApiKeyValue: key } },
      }),
    );
    const described = await eb.send(new DescribeConnectionCommand({ Name: 'hook' }));
    expect(described.AuthorizationType).toBe('API_KEY');
    expect(JSON.stringify(described)).not.toContain(key);
  });

  it('refuses an over-long API key by member name, without echoing the key', async () => {
    const key = `secret-${'x'.repeat(600)}`;
    const err = await rejection(
      eb.send(
        new CreateConnectionCommand({
          Name: 'too-long',
          AuthorizationType: 'API_KEY',
          AuthParameters: { ApiKeyAuthParameters: { ApiKeyName: 'Authorization', ApiKeyValue: key } },
        }),
      ),
    );
    expect(err.name).toBe('ValidationException');
    expect(err.message).toContain('apiKeyValue');
    expect(err.message).toContain('Member must have length less than or equal to 512');
    expect(err.message).not.toContain('secret-');
  });

  it('refuses a connection without a name as EventBridge does', async () => {
    const err = await rejection(
      eb.send(
        new CreateConnectionCommand({
          Name: undefined as unknown as string,
          AuthorizationType: 'BASIC',
          AuthParameters: { BasicAuthParameters: { Username: 'u', Password: 'p' } },
        }),
      ),
    );
    expect(err.name).toBe('ValidationException');
    expect(err.message).toContain("'name' failed to satisfy constraint: Member must not be null");
  });

  it('refuses a taken name and answers a deleted one as missing, for connections and API destinations alike', async () => {
    const basic = { BasicAuthParameters: { Username: 'ops', Password: 'p'.repeat(12) } };
    const create = () =>
      eb.send(
        new CreateConnectionCommand({ Name: 'ops', AuthorizationType: 'BASIC', AuthParameters: basic }),
      );
    const { ConnectionArn } = await create();
    expect(await rejection(create())).toMatchObject({
      name: 'ResourceAlreadyExistsException',
      message: 'Connection ops already exists.',
    });
    const destination = (connectionArn: string | undefined) =>
      eb.send(
        new CreateApiDestinationCommand({
          Name: 'ops-hook',
          ConnectionArn: connectionArn,
          InvocationEndpoint: 'https://hooks.example.com/ops',
          HttpMethod: 'POST',
        }),
      );
    await destination(ConnectionArn);
    // The name is judged before the connection.
    expect(
      await rejection(destination('arn:aws:events:us-east-1:123456789012:connection/none/x')),
    ).toMatchObject({
      name: 'ResourceAlreadyExistsException',
      message: 'ApiDestination ops-hook already exists.',
    });
    const listed = await eb.send(new ListApiDestinationsCommand({}));
    expect(listed.ApiDestinations?.map((d) => d.Name)).toContain('ops-hook');
    await eb.send(new DeleteApiDestinationCommand({ Name: 'ops-hook' }));
    expect(await rejection(eb.send(new DescribeApiDestinationCommand({ Name: 'ops-hook' })))).toMatchObject({
      name: 'ResourceNotFoundException',
      message: "Failed to describe the ApiDestination(s). ApiDestination 'ops-hook' does not exist.",
    });
    const connections = await eb.send(new ListConnectionsCommand({}));
    expect(connections.Connections?.map((c) => c.Name)).toContain('ops');
    const described = await eb.send(new DescribeConnectionCommand({ Name: 'ops' }));
    expect(described.AuthParameters).toEqual({ BasicAuthParameters: { Username: 'ops' } });
    await eb.send(new DeleteConnectionCommand({ Name: 'ops' }));
    expect(await rejection(eb.send(new DescribeConnectionCommand({ Name: 'ops' })))).toMatchObject({
      name: 'ResourceNotFoundException',
      message: "Failed to describe the Connection(s). Connection 'ops' does not exist.",
    });
  });

  it('asks for the parameters of the authorization type chosen, and refuses OAuth', async () => {
    const err = await rejection(
      eb.send(
        new CreateConnectionCommand({
          Name: 'no-params',
          AuthorizationType: 'BASIC',
          AuthParameters: { ApiKeyAuthParameters: { ApiKeyName: 'x-api-key', ApiKeyValue: 'v' } },
        }),
      ),
    );
    expect(err).toMatchObject({
      name: 'ValidationException',
      message: 'Parameter AuthParameters is not valid. Reason: BasicAuthParameters are required for BASIC.',
    });
    const oauth = await rejection(
      eb.send(
        new CreateConnectionCommand({
          Name: 'oauth',
          AuthorizationType: 'OAUTH_CLIENT_CREDENTIALS',
          AuthParameters: {},
        }),
      ),
    );
    expect(oauth.message).toBe(
      'Parameter AuthorizationType is not valid. Reason: the sandbox does not emulate OAuth connections.',
    );
  });
});
