/**
 * `@nvcf-ecr/sandbox`: a faithful local AWS (ECR, ECR Public, IAM, STS, Secrets Manager, EventBridge, S3) and
 * NVCF API for offline runs and tests, with a control plane and the local runtime. Start it in-process with
 * {@link startSandbox}; `nvcf-ecr sandbox` starts it as a process.
 */
export { VirtualClock } from './clock.ts';
export { ProblemError, SandboxError, ServiceError } from './errors.ts';
export type { FaultRuleInput, FaultService } from './faults.ts';
export {
  type ActionDecision,
  type ActionRequest,
  clearPolicyEvaluationCache,
  type Decision,
  isActionAllowed,
} from './iam/engine.ts';
export type { ServiceModule } from './module.ts';
export type { RateLimit, ThrottleOptions } from './pacing.ts';
export {
  KNOB_NAMES,
  PROFILE_NAMES,
  PROFILES,
  type ProfileKnobs,
  type ProfileName,
  type ProfileView,
  SandboxProfile,
} from './profile.ts';
export { type EcrPushApi, type PushedImage, type PushImageOptions, pushImage } from './push.ts';
export type { DeadLetter, LambdaFunction, LambdaHandler } from './runtime/lambda.ts';
export type {
  HandlerEnvironment,
  HandlerFactory,
  RuntimeFunction,
  RuntimeHandlers,
  RuntimeOptions,
} from './runtime/runtime.ts';
export {
  DEFAULT_ACCOUNT_ID,
  DEFAULT_REGION,
  type RunningSandbox,
  type SandboxInfo,
  type SandboxOptions,
  startSandbox,
  stderrLogger,
  writeAtomically,
} from './sandbox.ts';
export type { EventLogEntry } from './services/events/records.ts';
export type { Endpoints, LambdaContextLike, World } from './world.ts';
