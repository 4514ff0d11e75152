import {
  type NvcfAuditPort,
  type NvcfRegistryCredentialsPort,
  nvcfFailureStatus,
} from '@nvcf-ecr/core/ports';
import { NvcfClient, NvcfUnauthorizedError } from '@nvcf-ecr/nvcf';
import { describe, expect, expectTypeOf, it } from 'vitest';

describe('Port: NvcfAuditPort', () => {
  it('is satisfied by NvcfClient as it is, so core needs no import of @nvcf-ecr/nvcf', () => {
    expectTypeOf<NvcfClient>().toExtend<NvcfAuditPort>();
    expectTypeOf<NvcfClient>().toExtend<NvcfRegistryCredentialsPort>();
    const client: NvcfAuditPort = new NvcfClient({ baseUrl: 'http://127.0.0.1:1', apiKey: async () => 'k' });
    expect(typeof client.listRegistryCredentials).toBe('function');
  });

  it("reads the status of the client's errors, and none for a failure without an answer", () => {
    const err = new NvcfUnauthorizedError({
      method: 'GET',
      path: '/v2/nvcf/registry-credentials',
      status: 401,
    });
    expect(nvcfFailureStatus(err)).toBe(401);
    expect(nvcfFailureStatus(new Error('fetch failed'))).toBeUndefined();
    expect(nvcfFailureStatus('boom')).toBeUndefined();
  });
});
