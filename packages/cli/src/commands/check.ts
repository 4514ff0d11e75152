import {
  type Config,
  DEFAULT_REQUIRED_PLATFORMS,
  findRegistry,
  requiredPlatforms,
} from '@nvcf-ecr/core/config';
import {
  errorEvaluation,
  evaluatePlatforms,
  formatPlatform,
  type PlatformEvaluation,
  parsePlatform,
  type ResolvedImage,
  resolveImage,
} from '@nvcf-ecr/core/image';
import { type Command, type CommandContext, EXIT_CODES_HELP, type OptionValues } from '../cli.ts';
import { DEFAULT_CONFIG_FILE, loadCommandConfig } from '../context.ts';
import { CliError, UsageError } from '../errors.ts';
import { type CliIo, formatFields, styleFor, writeJson } from '../output.ts';
import { ECR_SYNTAX, type OpenedSource, openSource, SOURCES, type SourceContext } from '../sources.ts';

/**
 * `nvcf-ecr check <source>`: resolve an image's platforms and judge them against the required set,
 * so CI can refuse an image before it is pushed. Same engine and policy as the push-validation Lambda.
 */

/** `check --json`: the resolution plus the verdict. */
export interface CheckReport {
  reference: string;
  digest: string;
  mediaType: string;
  kind: ResolvedImage['kind'];
  platforms: string[];
  ignored: ResolvedImage['ignored'];
  mismatches: ResolvedImage['mismatches'];
  warnings: string[];
  required: string[];
  missing: string[];
  verdict: PlatformEvaluation['verdict'];
  reasons: string[];
}

const HELP = `Resolves the image's platforms (index, manifest list or single manifest; attestations and artifacts
ignored; every platform checked against its config blob) and checks them against the platforms NVCF needs.

Sources:
${Object.values(SOURCES)
  .map((s) => `  ${s.syntax}`)
  .join('\n')}
    An OCI image layout directory, or a tar of one (what 'docker buildx build -o type=oci,dest=out.tar'
    writes). <ref> is the image's org.opencontainers.image.ref.name (or a digest); leave it out when the
    layout holds one image. docker-archive: reads what 'docker save', 'podman save' and skopeo's
    docker-archive: write (<repo:tag> picks one of several images). Index entries whose content a local
    archive lacks ('docker save' with the containerd image store keeps the host's platform only) are
    reported as warnings and not counted.
  ${ECR_SYNTAX}
    An image in a private ECR repository, read through the ECR API (ecr:BatchGetImage,
    ecr:GetDownloadUrlForLayer) with the standard AWS credential chain (AWS_ACCESS_KEY_ID/
    AWS_SECRET_ACCESS_KEY, AWS_PROFILE, SSO, instance roles). No tag means :latest.

Options:
  --require <platforms>  comma-separated platforms the image must provide (default: for an ECR image of a
                         configured repository, its policy from --config; else ${DEFAULT_REQUIRED_PLATFORMS.join(',')};
                         GB200 targets need linux/arm64 too)
  --config <file>        configuration whose platform policy applies to ECR images of its repositories
                         (default: ./${DEFAULT_CONFIG_FILE} when it exists)
  --endpoint <url>       AWS endpoint override for ECR images (e.g. the sandbox's awsEndpoint)
  --json                 print one JSON object: reference, digest, mediaType, kind, platforms, ignored,
                         mismatches, warnings, required, missing, verdict, reasons
  -h, --help             show this help

Examples:
  nvcf-ecr check oci-archive:out.tar --require linux/amd64,linux/arm64
  nvcf-ecr check oci:./layout:v1.2.0 --json
  nvcf-ecr check docker-archive:app.tar:app:v1
  nvcf-ecr check 123456789012.dkr.ecr.us-east-1.amazonaws.com/inference-gb200:v1.2.0

${EXIT_CODES_HELP}`;

export const command: Command = {
  name: 'check',
  summary: 'check an image for the platforms NVCF needs',
  usage: 'nvcf-ecr check <source> [--require <platforms>] [--json]',
  help: HELP,
  options: {
    require: { type: 'string', multiple: true },
    config: { type: 'string' },
    endpoint: { type: 'string' },
    json: { type: 'boolean' },
  },
  positionals: { min: 1, max: 1 },
  run: check,
};

async function check({ positionals, values, io }: CommandContext): Promise<number> {
  const spec = positionals[0] as string;
  const json = values['json'] === true;
  const explicit = values['require'] === undefined ? undefined : parseRequire(values['require']);
  const endpoint = typeof values['endpoint'] === 'string' ? values['endpoint'] : undefined;
  let required = explicit ?? [...DEFAULT_REQUIRED_PLATFORMS];
  let report: CheckReport;
  try {
    // The repository's policy applies to ECR images without --require only; the configuration is not read
    // otherwise, so a broken one cannot fail the check of a local build.
    const requiredFor = async (opened: OpenedSource): Promise<string[]> => {
      if (explicit === undefined && opened.ecr) required = (await policyOf(opened.ecr, values)) ?? required;
      return required;
    };
    report = await checkSource(spec, requiredFor, { endpoint });
  } catch (err) {
    // Machine readers get one JSON object whatever happens; the boundary still prints the message.
    if (json) {
      const reasons = err instanceof CliError ? [err.message] : errorEvaluation(err).reasons;
      writeJson(io, { reference: spec, required, verdict: 'error', reasons });
    }
    throw err;
  }
  if (json) writeJson(io, report);
  else io.stdout.write(formatReport(report, io));
  return report.verdict === 'compliant' ? 0 : 1;
}

/**
 * Opens the source, resolves the reference and the image, and evaluates it against `required` (or what it
 * answers for the opened source: the repository's policy of an ECR image).
 */
export async function checkSource(
  spec: string,
  required: readonly string[] | ((opened: OpenedSource) => readonly string[] | Promise<readonly string[]>),
  context: SourceContext = {},
): Promise<CheckReport> {
  const opened = await openSource(spec, 'check', context);
  const { source, reference } = opened;
  try {
    const wanted = typeof required === 'function' ? await required(opened) : required;
    const root = await source.resolveReference(reference);
    // A local layout or archive may list platforms whose blobs it does not hold ('docker save' with the
    // containerd image store keeps only the host's): those entries are warned about and not counted. In ECR
    // a missing child is an error the audit reports.
    const resolved = await resolveImage(source, root.digest, {
      root: root.blob,
      missingChildren: opened.ecr ? 'error' : 'ignore',
    });
    const evaluation = evaluatePlatforms(resolved, wanted, { repository: opened.ecr?.repository });
    return {
      reference: spec,
      digest: resolved.digest,
      mediaType: resolved.mediaType,
      kind: resolved.kind,
      platforms: resolved.platforms,
      ignored: resolved.ignored,
      mismatches: resolved.mismatches,
      warnings: resolved.warnings,
      required: evaluation.required,
      missing: evaluation.missing,
      verdict: evaluation.verdict,
      reasons: evaluation.reasons,
    };
  } finally {
    await source.close();
  }
}

/**
 * The platform policy of an ECR image's repository in `--config` (or the default file when it exists):
 * `platforms.repositories[repo]`, else the registry's `platforms.require`. `undefined` when there is no
 * configuration or it does not list the repository (matched by hostname and repository).
 */
async function policyOf(
  ecr: { hostname: string; repository: string },
  values: OptionValues,
): Promise<string[] | undefined> {
  const config: Config | undefined = await loadCommandConfig(values, { required: false });
  const registry = config ? findRegistry(config, ecr.repository, ecr.hostname) : undefined;
  return registry ? requiredPlatforms(registry, ecr.repository) : undefined;
}

/** `--require` values: comma lists, repeatable; each must be `os/arch[/variant]`. */
export function parseRequire(raw: unknown): string[] {
  if (raw === undefined) return [...DEFAULT_REQUIRED_PLATFORMS];
  const items = (Array.isArray(raw) ? raw : [raw])
    .flatMap((v) => String(v).split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
  if (items.length === 0)
    throw new UsageError("--require needs at least one platform, e.g. '--require linux/amd64'", 'check');
  const out: string[] = [];
  for (const item of items) {
    const p = parsePlatform(item);
    if (!p)
      throw new UsageError(
        `--require: '${item}' is not a platform 'os/arch[/variant]', e.g. linux/amd64 or linux/arm64`,
        'check',
      );
    const text = formatPlatform(p);
    if (!out.includes(text)) out.push(text);
  }
  return out;
}

function formatReport(r: CheckReport, io: CliIo): string {
  const style = styleFor(io.stdout, io.env);
  const verdict =
    r.verdict === 'compliant'
      ? style.green(r.verdict)
      : r.verdict === 'non-compliant'
        ? style.red(r.verdict)
        : style.yellow(r.verdict);
  const head = `${style.bold(verdict)}  ${r.reference}\n`;
  return (
    head +
    formatFields(
      [
        ['digest', [r.digest]],
        ['kind', [`${r.kind} (${r.mediaType})`]],
        ['platforms', joined(r.platforms)],
        ['required', joined(r.required)],
        ['missing', joined(r.missing)],
        ['ignored', r.ignored.map((i) => `${i.digest}${i.platform ? ` [${i.platform}]` : ''}: ${i.reason}`)],
        [
          'mismatches',
          r.mismatches.map((m) => `${m.digest}: index says ${m.declared}, config says ${m.actual}`),
        ],
        ['warnings', r.warnings],
        ['reasons', r.reasons],
      ],
      style,
    )
  );
}

function joined(items: readonly string[]): string[] {
  return items.length === 0 ? [] : [items.join(', ')];
}
