import { ServiceError } from '../../errors.ts';

/**
 * ECR Public's own errors (AWS JSON 1.1, message `message`). Image and repository errors are ECR's (the same
 * shapes and texts, `../ecr/errors.ts`); this adds the region refusal
 * (`UnsupportedCommandException`, "The action isn't supported in this Region", in the SDK's error shapes).
 */
export const ecrPublicErrors = {
  unsupportedRegion: () =>
    new ServiceError('UnsupportedCommandException', "The action isn't supported in this Region.", 400),
};
