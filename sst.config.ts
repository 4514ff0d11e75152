import type { SSTConfig } from 'sst';
import nvcfEcrConfig from './nvcf-ecr.config.ts';
import { Audit } from './stacks/Audit.ts';
import { Credentials } from './stacks/Credentials.ts';
import { sstAppSettings } from './stacks/lib/config.ts';
import { Notifications } from './stacks/Notifications.ts';
import { Validation } from './stacks/Validation.ts';

/**
 * The SST v2 app. The stacks read `nvcf-ecr.config.ts` (validated) and are listed in dependency order:
 * Validation owns the project bus everything reports to; Notifications subscribes to it before Credentials
 * runs the first rotation, so even the bootstrap rotation's outcome is heard; the audit checks the rest.
 */
export default {
  config: () => sstAppSettings(nvcfEcrConfig),
  stacks(app) {
    app.stack(Validation).stack(Notifications).stack(Credentials).stack(Audit);
  },
} satisfies SSTConfig;
