import { ServiceError } from '../errors.ts';
import type { FaultErrorSpec, FaultService } from '../faults.ts';
import type { Protocol } from './aws.ts';
import type { SandboxResponse } from './http.ts';
import { escapeXml } from './xml.ts';

/**
 * Errors as each AWS protocol puts them on the wire: AWS JSON 1.1 (`__type` and the service's message key),
 * Query (`<ErrorResponse>`) and S3's REST-XML (`<Error>`), and the errors the front door itself answers with
 * (access denied, throttled, an injected fault).
 */

/** AWS's access-denied message for identity-based policies, in the protocol's code and status. */
export function accessDenied(
  protocol: Protocol,
  principalArn: string,
  action: string,
  resource: string,
  explicit: boolean,
): ServiceError {
  const why = explicit
    ? 'with an explicit deny in an identity-based policy'
    : `because no identity-based policy allows the ${action} action`;
  const message = `User: ${principalArn} is not authorized to perform: ${action} on resource: ${resource} ${why}`;
  return protocol === 'json'
    ? new ServiceError('AccessDeniedException', message, 400)
    : new ServiceError('AccessDenied', message, 403);
}

/**
 * What a throttled AWS API answers: `ThrottlingException` (400, "Rate exceeded") from the JSON 1.1 services —
 * the answer ECR clients report (https://docs.aws.amazon.com/AmazonECR/latest/userguide/common-errors.html;
 * both the SDK, `@smithy/core` `service-error-classification`, and our pacing classify it as throttling) —
 * `Throttling` from the Query services (IAM, STS), and S3's `SlowDown` (503).
 */
export function throttledError(serviceId: FaultService): ServiceError {
  if (serviceId === 's3') return new ServiceError('SlowDown', 'Please reduce your request rate.', 503);
  if (serviceId === 'iam' || serviceId === 'sts') return new ServiceError('Throttling', 'Rate exceeded', 400);
  return new ServiceError('ThrottlingException', 'Rate exceeded', 400);
}

export function faultError(spec: FaultErrorSpec): ServiceError {
  return new ServiceError(
    spec.code ?? (spec.status >= 500 ? 'ServiceUnavailable' : 'ThrottlingException'),
    spec.message,
    spec.status,
  );
}

export function jsonError(
  err: ServiceError,
  messageKey: 'message' | 'Message',
  requestId: string,
): SandboxResponse {
  return {
    status: err.status,
    headers: {
      'content-type': 'application/x-amz-json-1.1',
      'x-amzn-requestid': requestId,
      'x-amzn-errortype': err.code,
    },
    body: JSON.stringify({ __type: err.code, [messageKey]: err.message, ...err.extra }),
  };
}

export function queryError(err: ServiceError, namespace: string, requestId: string): SandboxResponse {
  const body =
    `<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse xmlns="${namespace}"><Error><Type>${err.fault}</Type>` +
    `<Code>${escapeXml(err.code)}</Code><Message>${escapeXml(err.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`;
  return { status: err.status, headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId }, body };
}

export function restError(err: ServiceError, requestId: string): SandboxResponse {
  const extra = Object.entries(err.extra)
    .map(([k, v]) => `<${k}>${escapeXml(String(v))}</${k}>`)
    .join('');
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${escapeXml(err.code)}</Code><Message>${escapeXml(err.message)}</Message>${extra}<RequestId>${requestId}</RequestId></Error>`;
  return {
    status: err.status,
    headers: { 'content-type': 'application/xml', 'x-amz-request-id': requestId },
    body,
  };
}
