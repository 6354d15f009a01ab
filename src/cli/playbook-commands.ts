import * as fs from 'node:fs';
import * as os from 'node:os';
import { Command, InvalidArgumentError, Option } from 'commander';
import { PlaybookConflictError, PlaybookInputError, playbookStartId, startPlaybook, validatePlaybookInput } from '../client/playbooks';
import { closedOutcome } from '../client/operations';
import { renderPlaybookMarkdown } from '../report/playbook-markdown';
import type { CliContext } from './context';
import { CliError, EXIT, usageError } from './exit-codes';
import { flagForField, flagsToInput, GATE_FLAGS, PLAYBOOK_VERBS, withFlags, type FieldFlag, type PlaybookVerb } from './playbook-flags';
import { withTemporal } from './temporal';

/**
 * `kafka-dr failover|failback|recreate-topic|audit|deploy`: build the input from
 * `--input FILE` and flags, validate it with the workflow's schema (a bad input is
 * refused here, exit 2, nothing started), confirm a destructive start, start it
 * through src/client (idempotent ID), optionally wait for the report.
 */

function splitList(value: string, previous: string[] | undefined): string[] {
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (items.length === 0) throw new InvalidArgumentError('must list at least one name (comma-separated)');
  return [...(previous ?? []), ...items];
}

function parseWhole(value: string): number {
  if (!/^-?\d+$/.test(value.trim())) throw new InvalidArgumentError('must be a whole number');
  return Number(value);
}

function parseNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError('must be a number');
  return n;
}

function optionFor(field: FieldFlag): Option {
  const o = new Option(field.arg ? `${field.flag} ${field.arg}` : field.flag, field.help);
  if (field.choices) o.choices(field.choices);
  if (field.kind === 'list') o.argParser(splitList);
  if (field.kind === 'int') o.argParser(parseWhole);
  if (field.kind === 'number') o.argParser(parseNumber);
  return o;
}

/** Reads a JSON document (`-`: stdin); a problem names the flag and the file. */
async function readJson(ctx: CliContext, flag: string, file: string): Promise<unknown> {
  let text: string;
  try {
    text = file === '-' ? await ctx.io.readStdin() : fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw usageError(`${flag} ${file}: cannot read it (${code === 'ENOENT' ? 'no such file' : (code ?? String(err))})`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw usageError(`${flag} ${file}: not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
}

/** The input a verb's flags and files describe, not yet validated. */
export async function buildInput(
  ctx: CliContext,
  spec: PlaybookVerb,
  opts: Record<string, unknown>,
  optionOf: Map<FieldFlag, Option>,
): Promise<Record<string, unknown>> {
  let base: Record<string, unknown> = {};
  if (typeof opts.input === 'string') {
    const doc = await readJson(ctx, '--input', opts.input);
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
      throw usageError(`--input ${opts.input}: must hold one JSON object (the ${spec.playbook} input, as in docs/examples)`);
    }
    base = doc as Record<string, unknown>;
  }
  const values = new Map<FieldFlag, unknown>();
  for (const [field, option] of optionOf) {
    let v = opts[option.attributeName()];
    if (v === undefined) continue;
    if (field.kind === 'json-file') v = await readJson(ctx, field.flag, String(v));
    values.set(field, v);
  }
  const input = flagsToInput(spec, values, base);
  if (input.requestedBy === undefined) input.requestedBy = ctx.io.env.KDR_OPERATOR || safeUserName();
  if (opts.dryRun === true) input.dryRun = true;
  return input;
}

function safeUserName(): string | undefined {
  try {
    return os.userInfo().username || undefined;
  } catch {
    return undefined;
  }
}

/** Every schema complaint on its own line, with the flag that sets the field. */
export function describeInputError(spec: PlaybookVerb, err: PlaybookInputError): string {
  const lines = err.issues.map((i) => {
    const flag = flagForField(spec, i.field);
    return `  ${i.field}${flag ? ` (${flag})` : ''}: ${i.reason}`;
  });
  return `invalid ${spec.verb} input, nothing started:\n${lines.join('\n')}`;
}

async function confirm(ctx: CliContext, spec: PlaybookVerb, input: Record<string, unknown>, workflowId: string): Promise<void> {
  if (!ctx.io.stdinIsTTY) {
    throw usageError(
      `${spec.verb} changes your clusters and stdin is not a terminal, so kafka-dr cannot ask: pass --yes to start it, or --dry-run to see the plan (nothing started)`,
    );
  }
  const target = ctx.target();
  ctx.io.err(
    `About to start ${spec.playbook} ${workflowId} on ${target.address} (namespace ${target.namespace}, task queue ${target.taskQueue}):\n  ${spec.describe(input)}\n`,
  );
  const answer = (await ctx.io.prompt('Start it? [y/N] ')).trim().toLowerCase();
  if (answer !== 'y' && answer !== 'yes') throw new CliError('not started (not confirmed)', EXIT.other);
}

async function runPlaybookVerb(
  ctx: CliContext,
  spec: PlaybookVerb,
  opts: Record<string, unknown>,
  optionOf: Map<FieldFlag, Option>,
): Promise<number> {
  const raw = await buildInput(ctx, spec, opts, optionOf);
  let parsed: Record<string, unknown>;
  try {
    parsed = validatePlaybookInput(spec.playbook, raw) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof PlaybookInputError) throw usageError(describeInputError(spec, err));
    throw err;
  }
  const dryRun = parsed.dryRun === true;
  if (typeof opts.id === 'string' && spec.idIsLock && !dryRun) {
    throw usageError(
      `--id: a real ${spec.verb} runs as ${playbookStartId(spec.playbook, parsed)}, the ID that keeps two of them from running at once; --id is only for --dry-run`,
    );
  }
  const workflowId = typeof opts.id === 'string' ? opts.id : playbookStartId(spec.playbook, parsed);
  if (spec.destructive && !dryRun && opts.yes !== true) await confirm(ctx, spec, parsed, workflowId);

  const target = ctx.target();
  return withTemporal(target, async (client) => {
    let started;
    try {
      started = await startPlaybook(client, spec.playbook, raw, { taskQueue: target.taskQueue, workflowId });
    } catch (err) {
      if (err instanceof PlaybookConflictError) throw new CliError(`${spec.verb} not started: ${err.message}`, EXIT.conflict);
      throw err;
    }
    const runId = started.runId;
    const what = `${spec.playbook}${dryRun ? ' (dry run)' : ''} ${started.workflowId}`;
    if (opts.wait !== true) {
      if (opts.json === true) {
        ctx.io.out(
          `${JSON.stringify({ workflowId: started.workflowId, runId, playbook: spec.playbook, started: started.started, dryRun, taskQueue: target.taskQueue })}\n`,
        );
      } else {
        ctx.io.out(`${started.started ? 'started' : 'already running with the same input'}: ${what} (run ${runId})\n`);
        ctx.io.out(`follow it: kafka-dr status ${started.workflowId} --watch\n`);
      }
      return EXIT.ok;
    }
    ctx.io.err(
      `kafka-dr: ${started.started ? 'started' : 'already running with the same input'}: ${what}; waiting for its report (\`kafka-dr status ${started.workflowId}\` shows progress and open gates)\n`,
    );
    const { report, failure } = await closedOutcome(client, started.workflowId, runId);
    if (report) ctx.io.out(opts.json === true ? `${JSON.stringify(report, null, 2)}\n` : renderPlaybookMarkdown(report));
    // A dry run's blockers, each with the flag that fixes it: every operator mistake at once.
    const blockers = (report?.figures as { plan?: { blockers?: unknown } } | undefined)?.plan?.blockers;
    if (Array.isArray(blockers) && blockers.length > 0) {
      ctx.io.err(
        `kafka-dr: ${blockers.length} blocker(s) would stop a real run:\n${blockers.map((b) => `  - ${withFlags(spec, String(b))}`).join('\n')}\n`,
      );
    }
    if (!report || report.outcome !== 'completed') {
      const why = report
        ? `ended ${report.outcome}${report.reason ? `: ${withFlags(spec, report.reason)}` : ''}`
        : `failed: ${failure ? withFlags(spec, failure) : 'no report'}`;
      ctx.io.err(`kafka-dr: ${what} ${why}\n`);
      return EXIT.playbookFailed;
    }
    return EXIT.ok;
  });
}

/** Adds the five playbook verbs to `program`. */
export function addPlaybookCommands(program: Command, ctx: CliContext): void {
  for (const spec of PLAYBOOK_VERBS) {
    const cmd = program.command(spec.verb).description(spec.summary);
    cmd.option(
      '--input <file>',
      `JSON input (the ${spec.playbook} workflow input, as in docs/examples; - reads stdin); flags override its fields`,
    );
    const optionOf = new Map<FieldFlag, Option>();
    for (const field of [...spec.fields, ...GATE_FLAGS]) {
      const option = optionFor(field);
      optionOf.set(field, option);
      cmd.addOption(option);
    }
    cmd
      .option('--dry-run', 'read-only: run the checks and return the plan (dryRun: true); changes nothing')
      .option('--wait', 'wait until the playbook ends and print its report (exit 4 unless it completed)')
      .option('--json', 'print JSON (the start as one line; with --wait, the report)')
      .option(
        '--id <workflow-id>',
        spec.idIsLock
          ? 'workflow ID for a --dry-run (a real run always uses its lock ID)'
          : 'workflow ID (default: derived from the clusters)',
      )
      .option(
        '-y, --yes',
        spec.destructive
          ? 'start without asking (required when stdin is not a terminal)'
          : 'accepted for symmetry: this playbook changes nothing and never asks',
      )
      .addHelpText('after', `\nExample:\n  ${spec.example}\n`)
      .action(async (opts: Record<string, unknown>) => {
        ctx.setExit(await runPlaybookVerb(ctx, spec, opts, optionOf));
      });
  }
}
