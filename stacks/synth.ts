/**
 * `npm run synth -- --out DIR [--stage STAGE] [--config FILE] [--account ID] [--region REGION] [--assembly DIR]`
 *
 * Writes one `<Stack>.template.json` per stack into DIR, offline: no AWS credentials, no network. For review
 * and for policy tools (cfn-lint, checkov, IAM Access Analyzer's `validate-policy`). The functions are bundled
 * exactly as `npx sst deploy` bundles them; `--assembly DIR` keeps the whole cloud assembly (bundles
 * included), otherwise only the templates are kept.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError } from '@nvcf-ecr/core/errors';
import { synthesize } from './lib/synth.ts';

const USAGE =
  'usage: npm run synth -- --out DIR [--stage STAGE] [--config FILE] [--account ID] [--region REGION] [--assembly DIR]';

async function main(argv: readonly string[]): Promise<number> {
  let values: Record<string, string | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        out: { type: 'string' },
        stage: { type: 'string', default: 'dev' },
        config: { type: 'string' },
        account: { type: 'string' },
        region: { type: 'string' },
        assembly: { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    process.stderr.write(`synth: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const out = values['out'];
  if (!out) {
    process.stderr.write(`synth: --out DIR is required\n${USAGE}\n`);
    return 2;
  }
  const stage = values['stage'] ?? 'dev';
  if (!/^[A-Za-z][A-Za-z0-9-]*$/.test(stage)) {
    process.stderr.write(
      `synth: --stage '${stage}' must start with a letter and contain only letters, digits and '-'\n`,
    );
    return 2;
  }

  const outDir = resolve(out);
  const configPath = values['config'];
  const assemblyDir = values['assembly']
    ? resolve(values['assembly'])
    : await mkdtemp(join(tmpdir(), 'nvcf-ecr-assembly-'));
  try {
    const result = await synthesize({
      stage,
      configFile: configPath,
      account: values['account'],
      region: values['region'],
      outdir: assemblyDir,
    });
    await mkdir(outDir, { recursive: true });
    const written: string[] = [];
    for (const stack of result.stacks) {
      const file = join(outDir, `${stack.id}.template.json`);
      await writeFile(file, `${JSON.stringify(stack.template, null, 2)}\n`);
      written.push(file);
    }
    process.stdout.write(
      `Synthesised stage '${stage}' for account ${result.deployment.account} in ${result.deployment.region}:\n` +
        written.map((f) => `  ${displayPath(f)}\n`).join(''),
    );
    return 0;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`synth: ${err.message}\n`);
      return 1;
    }
    throw err;
  } finally {
    if (!values['assembly']) await rm(assemblyDir, { recursive: true, force: true });
  }
}

/** Relative to the working directory when inside it, else absolute. */
function displayPath(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel.startsWith('..') || rel === '' ? file : rel;
}

process.exitCode = await main(process.argv.slice(2));
