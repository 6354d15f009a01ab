import { Command, InvalidArgumentError, Option } from 'commander';
import type { Client } from '@temporalio/client';
import {
  abortPlaybook,
  decideGate,
  DecisionRefusedError,
  listPlaybooks,
  NoWorkerError,
  PlaybookNotFoundError,
  playbookReport,
  playbookSnapshot,
  PlaybookStateError,
  type PlaybookSnapshot,
} from '../client/operations';
import { AbortArgsSchema, DecideArgsSchema, EVERY_KEY, GateNameSchema } from '../model/gates';
import { renderPlaybookMarkdown } from '../report/playbook-markdown';
import type { CliContext } from './context';
import { CliError, EXIT, usageError } from './exit-codes';
import { changedEvents, renderStatus, statusEvents } from './status-view';
import { withTemporal } from './temporal';

/**
 * The verbs that act on a playbook that exists: status (and --watch), approve,
 * reject, abort, list, report.
 */

const CLEAR_SCREEN = '\x1b[H\x1b[2J';

/** Runs `fn` against Temporal, turning "no such workflow" into exit 2 and a closed/running mismatch into exit 4. */
async function onPlaybook<T>(ctx: CliContext, fn: (client: Client) => Promise<T>): Promise<T> {
  return withTemporal(ctx.target(), async (client) => {
    try {
      return await fn(client);
    } catch (err) {
      if (err instanceof PlaybookNotFoundError) throw usageError(err.message);
      if (err instanceof PlaybookStateError) throw new CliError(err.message, EXIT.playbookFailed);
      if (err instanceof NoWorkerError) throw new CliError(err.message, EXIT.other);
      throw err;
    }
  });
}

/** 0 when the closed playbook completed, 4 otherwise (failed, rejected, aborted, timed out, cancelled, terminated). */
function closedExitCode(snap: PlaybookSnapshot): number {
  return snap.temporalStatus === 'COMPLETED' && snap.status?.outcome === 'completed' ? EXIT.ok : EXIT.playbookFailed;
}

function stamp(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

async function watch(ctx: CliContext, client: Client, workflowId: string, opts: { json?: boolean; intervalMs: number }): Promise<number> {
  const printed = new Map<string, string>();
  const redraw = ctx.io.stdoutIsTTY && opts.json !== true;
  let lastJson = '';
  for (;;) {
    let snap: PlaybookSnapshot;
    try {
      snap = await playbookSnapshot(client, workflowId, { queryTimeoutMs: Math.max(5_000, opts.intervalMs) });
    } catch (err) {
      if (!(err instanceof NoWorkerError)) throw err;
      // A restarting worker is normal during an incident: say so once and keep watching.
      const line = `waiting for a worker: ${err.message}`;
      if (redraw) ctx.io.out(`${CLEAR_SCREEN}${workflowId}\n\n${line}\n`);
      else if (changedEvents([{ key: 'worker', line }], printed).length > 0) ctx.io.out(`${stamp()} ${line}\n`);
      await ctx.io.sleep(opts.intervalMs);
      continue;
    }
    printed.delete('worker');
    if (opts.json === true) {
      const json = JSON.stringify(snap);
      if (json !== lastJson) ctx.io.out(`${json}\n`);
      lastJson = json;
    } else if (redraw) {
      ctx.io.out(
        `${CLEAR_SCREEN}${renderStatus(snap)}\n\n${snap.temporalStatus === 'RUNNING' ? `(refreshing every ${opts.intervalMs / 1000}s; Ctrl-C stops watching, not the playbook)` : 'closed'}\n`,
      );
    } else {
      for (const e of changedEvents(statusEvents(snap), printed)) ctx.io.out(`${stamp()} ${e.line}\n`);
    }
    if (snap.temporalStatus !== 'RUNNING') return closedExitCode(snap);
    await ctx.io.sleep(opts.intervalMs);
  }
}

function parseInterval(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0.1 || n > 3600) throw new InvalidArgumentError('must be a number of seconds between 0.1 and 3600');
  return n;
}

function parseGate(value: string): string {
  const parsed = GateNameSchema.safeParse(value);
  if (!parsed.success) throw new InvalidArgumentError(parsed.error.issues[0]!.message);
  return value;
}

function parseLimit(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 1000)
    throw new InvalidArgumentError('must be a whole number from 1 to 1000');
  return Number(value);
}

/** The message the workflow would refuse as malformed, refused here before anything is sent (exit 2). */
function checkMessage(schema: typeof DecideArgsSchema | typeof AbortArgsSchema, args: unknown, flags: Record<string, string>): void {
  const parsed = schema.safeParse(args);
  if (parsed.success) return;
  const lines = parsed.error.issues.map((i) => {
    const field = i.path.map(String).join('.');
    // A nested field (choices.<key>) is named by its top-level flag.
    return `  ${flags[field] ?? flags[String(i.path[0])] ?? field}: ${i.message}`;
  });
  throw usageError(`nothing sent:\n${lines.join('\n')}`);
}

/** `--choice <choice>` (every key) or `--choice <key>=<choice>`, repeatable: the approval's choices. */
function collectChoice(value: string, previous: Record<string, string> | undefined): Record<string, string> {
  const at = value.lastIndexOf('=');
  const [key, choice] = at < 0 ? [EVERY_KEY, value] : [value.slice(0, at), value.slice(at + 1)];
  if (key.trim() === '' || choice.trim() === '')
    throw new InvalidArgumentError('must be <choice> or <key>=<choice>, e.g. end or orders-app=earliest');
  const out = { ...(previous ?? {}) };
  if (Object.hasOwn(out, key)) throw new InvalidArgumentError(`chooses twice for ${key === EVERY_KEY ? 'every key' : key}`);
  out[key] = choice;
  return out;
}

async function decide(
  ctx: CliContext,
  workflowId: string,
  gate: string,
  decision: 'approve' | 'reject',
  by: string,
  comment: string | undefined,
  json: boolean,
  choices?: Record<string, string>,
): Promise<number> {
  const args = { gate, decision, by, ...(comment !== undefined ? { comment } : {}), ...(choices ? { choices } : {}) };
  checkMessage(DecideArgsSchema, args, {
    by: '--as',
    comment: decision === 'approve' ? '--comment' : '--reason',
    gate: '<gate>',
    choices: '--choice',
  });
  return onPlaybook(ctx, async (client) => {
    try {
      const record = await decideGate(client, workflowId, args);
      if (json) ctx.io.out(`${JSON.stringify(record)}\n`);
      else {
        const chose = record.choices
          ? ` choosing ${Object.entries(record.choices)
              .map(([k, v]) => `${k}=${v}`)
              .join(', ')}`
          : '';
        ctx.io.out(`${record.decision} gate ${record.gate} of ${workflowId} as ${record.by ?? by} at ${record.at}${chose}\n`);
      }
      return EXIT.ok;
    } catch (err) {
      if (err instanceof DecisionRefusedError) throw new CliError(`${decision} refused: ${err.reason}`, EXIT.playbookFailed);
      throw err;
    }
  });
}

const nonEmpty = (flag: string) => (value: string) => {
  if (value.trim() === '') throw new InvalidArgumentError(`${flag} must not be empty`);
  return value;
};

export function addOperateCommands(program: Command, ctx: CliContext): void {
  program
    .command('status')
    .description("a playbook's steps, open gate (and what approving it does), lag per partition")
    .argument('<workflow-id>', "the playbook's workflow ID (kafka-dr list shows them)")
    .option(
      '--watch',
      'follow it until it closes: redrawn in place on a terminal, one line per change when piped; exit 0 if it completed, 4 otherwise',
    )
    .addOption(new Option('--interval <seconds>', 'poll interval for --watch').argParser(parseInterval).default(1))
    .option('--json', 'print the status as JSON (with --watch: one line per change)')
    .action(async (workflowId: string, opts: { watch?: boolean; interval: number; json?: boolean }) => {
      ctx.setExit(
        await onPlaybook(ctx, async (client) => {
          if (opts.watch) return watch(ctx, client, workflowId, { json: opts.json, intervalMs: opts.interval * 1000 });
          const snap = await playbookSnapshot(client, workflowId);
          ctx.io.out(opts.json ? `${JSON.stringify(snap, null, 2)}\n` : `${renderStatus(snap)}\n`);
          return EXIT.ok;
        }),
      );
    });

  program
    .command('approve')
    .description('approve the open gate (the decide update: a refusal comes back with its reason, exit 4)')
    .argument('<workflow-id>', "the playbook's workflow ID")
    .argument('<gate>', 'the gate to approve (kafka-dr status shows the open one)', parseGate)
    .requiredOption(
      '--as <name>',
      "who approves (kept in the audit trail; checked against the gate's approvers and four-eyes)",
      nonEmpty('--as'),
    )
    .option('--comment <text>', 'why, for the audit trail')
    .option(
      '--choice <[key=]choice>',
      'for a gate that asks choices (kafka-dr status lists them, e.g. unplaced-groups: earliest | end | leave-out per group; replication-gap: re-drain | accept-loss; divergent-records: replay | quarantine | discard): <key>=<choice>, or <choice> for every key; repeatable. A gate with a default (the choice that loses nothing) takes it where none is given',
      collectChoice,
    )
    .option('--json', 'print the recorded decision as JSON')
    .action(
      async (workflowId: string, gate: string, opts: { as: string; comment?: string; choice?: Record<string, string>; json?: boolean }) => {
        ctx.setExit(await decide(ctx, workflowId, gate, 'approve', opts.as, opts.comment, opts.json === true, opts.choice));
      },
    );

  program
    .command('reject')
    .description('reject the open gate: the playbook compensates and stops (a refusal comes back with its reason, exit 4)')
    .argument('<workflow-id>', "the playbook's workflow ID")
    .argument('<gate>', 'the gate to reject', parseGate)
    .requiredOption('--as <name>', 'who rejects', nonEmpty('--as'))
    .requiredOption('--reason <text>', 'why (required: the playbook undoes its changes)', nonEmpty('--reason'))
    .option('--json', 'print the recorded decision as JSON')
    .action(async (workflowId: string, gate: string, opts: { as: string; reason: string; json?: boolean }) => {
      ctx.setExit(await decide(ctx, workflowId, gate, 'reject', opts.as, opts.reason, opts.json === true));
    });

  program
    .command('abort')
    .description('abort a running playbook, whatever gate is open: it compensates (undoes what is safe to undo) and stops')
    .argument('<workflow-id>', "the playbook's workflow ID")
    .requiredOption('--as <name>', 'who aborts', nonEmpty('--as'))
    .requiredOption('--reason <text>', 'why', nonEmpty('--reason'))
    .option('--json', 'print {accepted, reason} as JSON')
    .action(async (workflowId: string, opts: { as: string; reason: string; json?: boolean }) => {
      checkMessage(AbortArgsSchema, { by: opts.as, reason: opts.reason }, { by: '--as', reason: '--reason' });
      ctx.setExit(
        await onPlaybook(ctx, async (client) => {
          const r = await abortPlaybook(client, workflowId, { by: opts.as, reason: opts.reason });
          if (opts.json) ctx.io.out(`${JSON.stringify({ workflowId, accepted: r.accepted, reason: r.reason })}\n`);
          else if (r.accepted)
            ctx.io.out(`abort accepted: ${workflowId} ${r.reason}; it compensates now (\`kafka-dr status ${workflowId} --watch\`)\n`);
          if (!r.accepted) {
            if (!opts.json) ctx.io.err(`kafka-dr: abort of ${workflowId} changed nothing: ${r.reason}\n`);
            return EXIT.playbookFailed;
          }
          return EXIT.ok;
        }),
      );
    });

  program
    .command('list')
    .description('running playbooks (--all: recent ones too), from the KafkaDrPlaybook/KafkaDrPhase/KafkaDrClusterPair search attributes')
    .option('--all', 'closed playbooks too, newest first')
    .option('--playbook <name>', 'only this playbook (failover, failback, recreate-topic, audit-drift, deploy-replication)')
    .option('--pair <A~B>', 'only this cluster pair (either order)')
    .addOption(new Option('--limit <n>', 'at most this many').argParser(parseLimit).default(50))
    .option('--json', 'print JSON')
    .action(async (opts: { all?: boolean; playbook?: string; pair?: string; limit: number; json?: boolean }) => {
      let clusterPair: string | undefined;
      if (opts.pair !== undefined) {
        const parts = opts.pair.split('~');
        if (parts.length !== 2 || parts.some((p) => !/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/.test(p)))
          throw usageError(`--pair ${opts.pair}: must be two cluster aliases joined by ~ (e.g. A~B)`);
        clusterPair = [...parts].sort().join('~');
      }
      ctx.setExit(
        await onPlaybook(ctx, async (client) => {
          const rows = await listPlaybooks(client, { all: opts.all, playbook: opts.playbook, clusterPair, limit: opts.limit });
          if (opts.json) {
            ctx.io.out(`${JSON.stringify(rows, null, 2)}\n`);
            return EXIT.ok;
          }
          if (rows.length === 0) {
            ctx.io.out(opts.all ? 'no kafka-dr playbooks\n' : 'no kafka-dr playbook is running (--all lists closed ones)\n');
            return EXIT.ok;
          }
          const header = ['WORKFLOW ID', 'PLAYBOOK', 'PAIR', 'PHASE', 'STATUS', 'STARTED'];
          const table = rows.map((r) => [
            r.workflowId,
            r.playbook ?? r.workflowType,
            r.clusterPair ?? '',
            r.phase ?? '',
            r.status,
            r.startTime.replace(/\.\d+Z$/, 'Z'),
          ]);
          const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
          for (const row of [header, ...table])
            ctx.io.out(`${row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')}\n`);
          return EXIT.ok;
        }),
      );
    });

  program
    .command('report')
    .description('the final report of a closed playbook: steps with times, decisions, offsets set, lag/drain figures, compensations')
    .argument('<workflow-id>', "the playbook's workflow ID")
    .addOption(new Option('--json', 'the report as JSON (the workflow result)').conflicts('markdown'))
    .addOption(new Option('--markdown', 'the report as Markdown (the default)').conflicts('json'))
    .action(async (workflowId: string, opts: { json?: boolean; markdown?: boolean }) => {
      ctx.setExit(
        await onPlaybook(ctx, async (client) => {
          const { report } = await playbookReport(client, workflowId);
          ctx.io.out(opts.json ? `${JSON.stringify(report, null, 2)}\n` : renderPlaybookMarkdown(report));
          return EXIT.ok;
        }),
      );
    });
}
