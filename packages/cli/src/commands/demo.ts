import type { Command } from '../cli.ts';
import { printSummary, runDemo } from '../demo/run.ts';
import { UsageError } from '../errors.ts';
import { writeJson } from '../output.ts';
import { profileOption } from './sandbox.ts';

/**
 * The demo's profile: `aws`, as `nvcf-ecr sandbox` — the story runs against IAM's propagation and NVCF's caches.
 * The functions' waits pass on the sandbox's virtual clock (`virtualWaits`), so it still takes seconds.
 */
export const DEMO_DEFAULT_PROFILE = 'aws';

/** `nvcf-ecr demo` (what `npm start` runs): the story lives in `demo/`; this file parses and prints. */

const HELP = `Runs the whole system on the local sandbox with the example configuration (nvcf-ecr.config.ts) and
tells the story step by step, checking each one:
  1. bootstrap    the first rotation creates the pull key and the NVCF registry credential
  2. push images  real images pushed through the ECR API, each judged by push validation: a multi-platform
                  index, an amd64-only image in the GB200 repository, its buildx fix, an artifact
  3. NVCF pull    NVCF pulls the compliant images with the credential it stores
  4. rotate       a rotation while NVCF keeps pulling: every pull succeeds, NVCF is updated in place
  5. retire       the clock moves past the grace period; the hourly schedule deactivates the old key
  6. audit        the compliance audit; its reports are written to ./reports/audit.{json,md,html}
Narration goes to stderr, the summary table to stdout. No AWS account or NVCF key is needed: everything
runs in this process and listens on 127.0.0.1 only. Run it in a clone of the repository.

Options:
  --json                   print the summary as one JSON object {schemaVersion: 1, ok, elapsedMs, steps, reports}
  --profile <aws|ideal>    how unforgiving the sandbox's AWS and NVCF are (default ${DEMO_DEFAULT_PROFILE}; see 'nvcf-ecr sandbox --help')
  --key-propagation <s>    seconds before a new access key works (default: the profile's)
  --verbose                also show the sandbox's and the functions' log lines (info and up; default: errors)
  -h, --help               show this help

Examples:
  npm start
  nvcf-ecr demo --json | jq '.steps'

Exit codes:
  0  every step did what it should
  1  a step did not (the summary names it and says why)
  2  the demo could not start (not in a clone of the repository, invalid example configuration)`;

export const command: Command = {
  name: 'demo',
  summary: 'run the whole system on the sandbox and tell the story end to end (npm start)',
  usage: 'nvcf-ecr demo [--json] [--profile aws|ideal] [--key-propagation SECONDS] [--verbose]',
  help: HELP,
  options: {
    json: { type: 'boolean' },
    profile: { type: 'string' },
    'key-propagation': { type: 'string' },
    verbose: { type: 'boolean' },
  },
  positionals: { min: 0, max: 0 },
  async run({ values, io }) {
    const raw = values['key-propagation'];
    const profile = profileOption(values['profile'], 'demo', DEMO_DEFAULT_PROFILE);
    const seconds = raw === undefined ? undefined : Number(raw);
    if (
      typeof raw !== 'undefined' &&
      (typeof raw !== 'string' ||
        seconds === undefined ||
        !Number.isInteger(seconds) ||
        seconds < 0 ||
        seconds > 60)
    ) {
      throw new UsageError(
        `--key-propagation must be a whole number of seconds from 0 to 60, got '${String(raw)}'`,
        'demo',
      );
    }
    const report = await runDemo({
      io,
      cwd: process.cwd(),
      profile,
      keyPropagationSeconds: seconds,
      // Warnings are part of the story already (a non-compliant verdict logs one); errors never are.
      logLevel: values['verbose'] === true ? 'info' : 'error',
    });
    if (values['json'] === true) writeJson(io, report);
    else printSummary(io, report);
    return report.ok ? 0 : 1;
  },
};
