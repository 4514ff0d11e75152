import type { PublicImageDetail, PublicImageLister } from '@nvcf-ecr/core/ports';
import { type AwsServiceOptions, awsJsonService } from './request.ts';

/**
 * ECR Public's image listing for the audit's Lambda bundle: `DescribeImages`
 * (https://docs.aws.amazon.com/AmazonECRPublic/latest/APIReference/API_DescribeImages.html) over AWS JSON 1.1,
 * target `SpencerFrontendService.DescribeImages`, signing name `ecr-public`, at
 * `api.ecr-public.<region>.amazonaws.com` (https://docs.aws.amazon.com/general/latest/gr/ecr-public.html). The
 * caller passes us-east-1, where ECR Public's API is served. `imagePushedAt` arrives as epoch seconds.
 */
export function ecrPublicImageLister(options: AwsServiceOptions): PublicImageLister {
  const call = awsJsonService(options, 'ecr-public', 'api.ecr-public', 'ECR_PUBLIC');
  return {
    async describeImages(query) {
      const out = await call('ecr-public:DescribeImages', 'SpencerFrontendService.DescribeImages', query);
      const details = (out['imageDetails'] ?? []) as (Omit<PublicImageDetail, 'imagePushedAt'> & {
        imagePushedAt?: number;
      })[];
      return {
        imageDetails: details.map(({ imagePushedAt, ...d }) => ({
          ...d,
          ...(typeof imagePushedAt === 'number' ? { imagePushedAt: new Date(imagePushedAt * 1000) } : {}),
        })),
        ...(typeof out['nextToken'] === 'string' ? { nextToken: out['nextToken'] } : {}),
      };
    },
  };
}
