/**
 * IAM: the pull user's policy, its effective permissions, and how the audit asks AWS to judge them
 * (iam:SimulatePrincipalPolicy: the simulator port, the pull-access verdict, the probes, the statements).
 */
export * from './effective.ts';
export * from './policy.ts';
export * from './probes.ts';
export * from './pull-access.ts';
export * from './simulator.ts';
export * from './statements.ts';
