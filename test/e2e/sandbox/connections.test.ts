import {
  CreateConnectionCommand,
  DescribeConnectionCommand,
  type EventBridgeClient,
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
});
