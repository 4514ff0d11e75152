import { ServiceError } from '../../errors.ts';

/**
 * S3's REST errors (`<Error><Code>…</Code><Message>…</Message>…</Error>`): codes, statuses and messages as S3
 * documents them in its error-code list (Amazon S3 API Reference, "Error responses"), with the extra elements
 * S3 adds (`<BucketName>`, `<Key>`).
 */
export const s3Errors = {
  noSuchBucket: (bucket: string) =>
    new ServiceError('NoSuchBucket', 'The specified bucket does not exist', 404, { BucketName: bucket }),
  noSuchKey: (key: string) =>
    new ServiceError('NoSuchKey', 'The specified key does not exist.', 404, { Key: key }),
  bucketAlreadyOwnedByYou: (bucket: string) =>
    new ServiceError(
      'BucketAlreadyOwnedByYou',
      'Your previous request to create the named bucket succeeded and you already own it.',
      409,
      {
        BucketName: bucket,
      },
    ),
  bucketNotEmpty: (bucket: string) =>
    new ServiceError('BucketNotEmpty', 'The bucket you tried to delete is not empty', 409, {
      BucketName: bucket,
    }),
  invalidBucketName: (bucket: string) =>
    new ServiceError('InvalidBucketName', 'The specified bucket is not valid.', 400, { BucketName: bucket }),
  illegalLocationConstraint: (constraint: string) =>
    new ServiceError(
      'IllegalLocationConstraintException',
      `The ${constraint} location constraint is incompatible for the region specific endpoint this request was sent to.`,
      400,
    ),
  keyTooLong: () => new ServiceError('KeyTooLongError', 'Your key is too long', 400),
  badDigest: (what: string) =>
    new ServiceError('BadDigest', `The ${what} you specified did not match the calculated checksum.`, 400),
  badContentMd5: () =>
    new ServiceError('BadDigest', 'The Content-MD5 you specified did not match what we received.', 400),
  invalidDigest: () => new ServiceError('InvalidDigest', 'The Content-MD5 you specified was invalid.', 400),
  invalidChecksum: (header: string) =>
    new ServiceError('InvalidRequest', `Value for ${header} header is invalid.`, 400),
  incompleteBody: () =>
    new ServiceError(
      'IncompleteBody',
      'You did not provide the number of bytes specified by the Content-Length HTTP header.',
      400,
    ),
  malformedChunk: (detail: string) =>
    new ServiceError('InvalidRequest', `The aws-chunked request body is malformed: ${detail}`, 400),
  invalidRange: (size: number) =>
    new ServiceError('InvalidRange', 'The requested range is not satisfiable', 416, {
      ActualObjectSize: size,
    }),
  invalidArgument: (message: string, name: string, value: string) =>
    new ServiceError('InvalidArgument', message, 400, { ArgumentName: name, ArgumentValue: value }),
  malformedXml: () =>
    new ServiceError(
      'MalformedXML',
      'The XML you provided was not well-formed or did not validate against our published schema.',
      400,
    ),
  notImplemented: () =>
    new ServiceError(
      'NotImplemented',
      'A header you provided implies functionality that is not implemented.',
      501,
    ),
  accessDenied: () => new ServiceError('AccessDenied', 'Access Denied', 403),
};
