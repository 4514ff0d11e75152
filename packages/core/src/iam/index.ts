/** IAM: the pull user's policy, its effective permissions, and the simulation that evaluates them. */
export * from './effective.ts';
export * from './policy.ts';
export * from './simulate.ts';
