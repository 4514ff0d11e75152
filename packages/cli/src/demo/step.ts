import type { DemoContext } from './context.ts';

/**
 * One step of the demo's story. `run` narrates what it does, states each expectation with `expectThat`
 * (a failed one throws `DemoStepError`), and returns what the summary table shows.
 */
export interface DemoStep {
  /** Short name, the summary's first column. */
  readonly name: string;
  /** What happens, the step's heading. */
  readonly title: string;
  /** Why it matters, one sentence under the heading. */
  readonly why: string;
  run(ctx: DemoContext): Promise<StepResult>;
}

export interface StepResult {
  /** Facts that prove the outcome (masked key ids, verdicts, pull counts, report paths), `; `-separated. */
  evidence: string;
}
