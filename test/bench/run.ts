/**
 * `npm run bench [-- --json FILE] [--latency-ms 20] [--only validation,audit,audit100k,rotation,coldStart]
 *   [--samples 20] [--runs 11] [--naive-repositories 2]`
 *
 * Runs the benchmarks (test/bench/README.md) on the in-process sandbox with an injected per-call latency (an AWS
 * API round trip) and prints a table (benchmark, measured, target, result) on stdout; progress goes to stderr.
 * `--json FILE` writes every figure (field names: test/bench/README.md, "JSON fields") with the machine it was
 * taken on. Not part of `npm test`: nothing here asserts a timing, it measures. See test/bench/README.md.
 */
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { machine } from './lib/measure.ts';
import { formatTable, type Row } from './lib/table.ts';

const BENCHMARKS = ['coldStart', 'validation', 'rotation', 'audit', 'audit100k'] as const;
type Benchmark = (typeof BENCHMARKS)[number];

const USAGE =
  'usage: npm run bench -- [--json FILE] [--latency-ms N] [--only validation,audit,audit100k,rotation,coldStart] [--samples N] [--runs N] [--naive-repositories N]';

function positiveInteger(name: string, value: string | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min)
    throw new Error(`--${name} must be a whole number ≥ ${min}, got '${value}'`);
  return n;
}

async function main(argv: readonly string[]): Promise<number> {
  let values: Record<string, string | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        json: { type: 'string' },
        'latency-ms': { type: 'string' },
        only: { type: 'string' },
        samples: { type: 'string' },
        runs: { type: 'string' },
        'naive-repositories': { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    process.stderr.write(`bench: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  let latencyMs: number;
  let samples: number;
  let runs: number;
  let naiveRepositories: number;
  let selected: Benchmark[];
  try {
    latencyMs = positiveInteger('latency-ms', values['latency-ms'], 20, 0);
    samples = positiveInteger('samples', values['samples'], 20);
    runs = positiveInteger('runs', values['runs'], 11, 10);
    naiveRepositories = positiveInteger('naive-repositories', values['naive-repositories'], 2);
    const only = values['only']?.split(',').map((s) => s.trim()) ?? [...BENCHMARKS];
    const unknown = only.filter((b) => !BENCHMARKS.includes(b as Benchmark));
    if (unknown.length > 0)
      throw new Error(
        `--only names unknown benchmarks ${unknown.join(', ')}; known: ${BENCHMARKS.join(', ')}`,
      );
    selected = BENCHMARKS.filter((b) => only.includes(b));
  } catch (err) {
    process.stderr.write(`bench: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }

  const log = (line: string) => process.stderr.write(`${line}\n`);
  const host = machine();
  log(
    `bench: ${host.nproc} CPUs (${host.cpuModel}), Node ${host.node}, injected latency ${latencyMs} ms per call`,
  );
  const out: Record<string, unknown> = { machine: host, latencyMs, startedAt: new Date().toISOString() };
  const rows: Row[] = [];
  for (const benchmark of selected) {
    const started = performance.now();
    log(`bench: ${benchmark}...`);
    // Loaded on demand: the cold-start benchmark pulls in the CDK and SST to synthesise the stacks.
    const { result, rows: more } =
      benchmark === 'coldStart'
        ? await (await import('./cold-start.ts')).benchColdStart({ runs, log })
        : benchmark === 'validation'
          ? await (await import('./validation.ts')).benchValidation({ latencyMs, samples, log })
          : benchmark === 'rotation'
            ? await (await import('./rotation.ts')).benchRotation({ latencyMs, log })
            : benchmark === 'audit'
              ? await (await import('./audit.ts')).benchAudit({ latencyMs, naiveRepositories, log })
              : await (await import('./audit100k.ts')).benchAudit100k({ latencyMs, log });
    out[benchmark] = result;
    rows.push(...more);
    log(`bench: ${benchmark} done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  out['targets'] = rows.filter((r) => r.pass !== undefined);
  process.stdout.write(`${formatTable(rows)}\n`);
  const missed = rows.filter((r) => r.pass === false).length;
  process.stdout.write(
    `\n${missed === 0 ? 'every target met' : `${missed} target${missed === 1 ? '' : 's'} missed (see test/bench/README.md)`}; ${host.nproc} CPUs, ${host.cpuModel}, Node ${host.node}\n`,
  );
  const json = values['json'];
  if (json) {
    await writeFile(resolve(json), `${JSON.stringify(out, null, 2)}\n`);
    log(`bench: wrote ${resolve(json)}`);
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
