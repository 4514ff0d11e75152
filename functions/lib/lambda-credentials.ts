import { type FromEnvInit, fromEnv } from '@aws-sdk/credential-provider-env';

/**
 * The credential provider of the deployed Lambda bundles. Every AWS SDK v3 client imports `defaultProvider` from
 * `@aws-sdk/credential-provider-node`: the whole workstation chain (environment, SSO, shared profiles, web
 * identity, credential processes, container and instance metadata) and the nested STS and SSO clients those
 * use — about 100 KB of each bundle. In Lambda only the first link ever answers: the runtime puts the execution
 * role's credentials in `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`. The stacks alias
 * the package to this module when they bundle a function (`stacks/lib/functions.ts`); the CLI, the sandbox and
 * the tests run the sources and keep the full chain.
 */
export function defaultProvider(init: FromEnvInit = {}) {
  return fromEnv(init);
}
