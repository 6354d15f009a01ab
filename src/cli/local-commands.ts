import { Command, Option } from 'commander';
import { DrillOptionsSchema, runDrill } from '../drill/run';
import { CompressionSchema } from '../model/replication-plan';
import { TASK_QUEUE } from '../model/task-queue';
import { TOPOLOGIES } from '../stack/config';
import { clusterSummaries, down, formatClusters, status, up, type ComponentStatus } from '../stack/stack';
import { runWorker } from '../../workers/main';
import type { CliContext } from './context';
import { EXIT, usageError } from './exit-codes';
import type { GlobalOptions } from './temporal';

/** The verbs that run here rather than on Temporal: stack up|down|status, worker, drill. */

export function formatStatus(rows: ComponentStatus[]): string {
  // As wide as the longest name: an HA stack's controllers are `kafka-a-controller-1`.
  const width = Math.max(10, ...rows.map((r) => r.component.length));
  const lines = rows.map((r) =>
    [
      r.component.padEnd(width),
      r.state.padEnd(9),
      r.address.padEnd(24),
      (r.pid ? `pid ${r.pid}` : '').padEnd(10),
      (r.rssMiB !== undefined ? `${r.rssMiB} MiB` : '').padEnd(9),
      r.detail,
    ].join(' '),
  );
  return [`${'COMPONENT'.padEnd(width)} STATE     ADDRESS                  PID        RSS       DETAIL`, ...lines].join('\n');
}

const topologyOption = () =>
  new Option(
    '--topology <topology>',
    'single: one KRaft node per cluster; ha: three brokers and three controllers (docs/ha.md); sets KDR_TOPOLOGY',
  ).choices(TOPOLOGIES);

export function addLocalCommands(program: Command, ctx: CliContext): void {
  const log = (line: string) => ctx.io.err(`kafka-dr: ${line}\n`);
  // Before the first ctx.stackConfig(): the flag is KDR_TOPOLOGY for this run.
  const useTopology = (topology: string | undefined) => {
    if (topology !== undefined) ctx.io.env.KDR_TOPOLOGY = topology;
  };
  const stack = program
    .command('stack')
    .description('the local DR stack: Kafka A and B, connect-a/-b with MM2, a Temporal dev server (settings: KDR_* variables)');

  stack
    .command('up')
    .description('start the stack, reusing what already runs; exit 3 when a tool (java, mvn, python3) is missing')
    .option('--json', 'print the component report as JSON')
    .option('--secure', 'TLS (mTLS) and SASL_SSL/SCRAM listeners, Connect over HTTPS with basic auth (docs/connecting.md)')
    .addOption(topologyOption())
    .action(async (opts: { json?: boolean; secure?: boolean; topology?: string }) => {
      // Before the config is read: KDR_SECURE is how every later step (and child) sees it.
      if (opts.secure) ctx.io.env.KDR_SECURE = '1';
      useTopology(opts.topology);
      const config = ctx.stackConfig();
      const report = await up(config, log);
      if (opts.json) ctx.io.out(`${JSON.stringify(report, null, 2)}\n`);
      else {
        const clusters = formatClusters(await clusterSummaries(config, report.components));
        ctx.io.out(
          `${formatStatus(report.components)}\n${clusters}\n\nstack up in ${report.totalSeconds.toFixed(1)} s. Temporal UI: ${config.temporal.uiUrl}\n`,
        );
      }
      ctx.setExit(EXIT.ok);
    });

  stack
    .command('down')
    .description('stop the processes this stack started')
    .addOption(topologyOption())
    .action(async (opts: { topology?: string }) => {
      useTopology(opts.topology);
      await down(ctx.stackConfig(), log);
      ctx.io.out('stack down: every process this stack started is stopped\n');
      ctx.setExit(EXIT.ok);
    });

  stack
    .command('status')
    .description('each component, its address and health; exit 1 unless all are healthy')
    .option('--json', 'print JSON (the component rows)')
    .addOption(topologyOption())
    .action(async (opts: { json?: boolean; topology?: string }) => {
      useTopology(opts.topology);
      const config = ctx.stackConfig();
      const rows = await status(config);
      if (opts.json) ctx.io.out(`${JSON.stringify(rows, null, 2)}\n`);
      else ctx.io.out(`${formatStatus(rows)}\n${formatClusters(await clusterSummaries(config, rows))}\n`);
      // Non-zero unless the whole stack is usable, so scripts can gate on it.
      ctx.setExit(rows.every((r) => r.state === 'healthy') ? EXIT.ok : EXIT.other);
    });

  program
    .command('worker')
    .description(
      'run the kafka-dr Temporal worker (KDR_REGISTRY names the cluster registry; default: the local stack) until SIGINT/SIGTERM',
    )
    .action(async () => {
      const globals = program.opts<GlobalOptions>();
      if (globals.taskQueue !== undefined && globals.taskQueue !== TASK_QUEUE) {
        throw usageError(
          `worker: --task-queue ${globals.taskQueue}: the worker polls '${TASK_QUEUE}', the queue every playbook start uses`,
        );
      }
      const config = ctx.stackConfig();
      // --address/--namespace/--profile (or TEMPORAL_*: TLS, API key) move the worker too, so one flag set serves every verb.
      await runWorker(config, ctx.target());
      ctx.setExit(EXIT.ok);
    });

  program
    .command('drill')
    .description('the DR drill: failover and failback under synthetic load, with a report (reports/drill-<time>.json, .md, .svg)')
    .addOption(
      new Option('--mode <mode>', 'planned (0 lost expected) or unplanned (broker A, on HA all of cluster A, killed mid-stream)').choices([
        'planned',
        'unplanned',
      ]),
    )
    .addOption(topologyOption())
    .option('--reports-dir <dir>', 'where the report files go (default: reports)')
    .addOption(
      new Option('--dr-period-seconds <s>', 'how long producers write to B between failover and failback (default 15)').argParser(Number),
    )
    .option('--keep', "keep the drill's topics, groups and connectors for inspection")
    .option(
      '--chaos',
      'planned: MM2 lagging with transactions before the failover, a straggler producer on A during the DR period; ' +
        'unplanned: MM2 paused while transactions and a burst land on A, A killed, back, and a failback that finds and replays the tail',
    )
    .addOption(new Option('--codec <codec>', "MM2's producer compression in both flows (default: none)").choices(CompressionSchema.options))
    .option('--json', 'print the report as JSON instead of the file paths')
    .option('--secure', 'on the secure stack: every client, Connect call and MM2 task over TLS with SCRAM or mTLS')
    .action(
      async (opts: {
        mode?: string;
        reportsDir?: string;
        drPeriodSeconds?: number;
        keep?: boolean;
        codec?: string;
        json?: boolean;
        secure?: boolean;
        topology?: string;
        chaos?: boolean;
      }) => {
        // Flags map onto the drill's own schema, which says what is wrong with a value.
        const flags: Record<string, string> = {
          mode: '--mode',
          reportsDir: '--reports-dir',
          drPeriodSeconds: '--dr-period-seconds',
          keep: '--keep',
          codec: '--codec',
          secure: '--secure',
          topology: '--topology',
          chaos: '--chaos',
        };
        const parsed = DrillOptionsSchema.safeParse({
          ...(opts.mode !== undefined ? { mode: opts.mode } : {}),
          ...(opts.reportsDir !== undefined ? { reportsDir: opts.reportsDir } : {}),
          ...(opts.drPeriodSeconds !== undefined ? { drPeriodSeconds: opts.drPeriodSeconds } : {}),
          ...(opts.keep === true ? { keep: true } : {}),
          ...(opts.codec !== undefined ? { codec: opts.codec } : {}),
          ...(opts.secure === true ? { secure: true } : {}),
          ...(opts.topology !== undefined ? { topology: opts.topology } : {}),
          ...(opts.chaos === true ? { chaos: true } : {}),
        });
        if (!parsed.success) {
          throw usageError(
            `drill: ${parsed.error.issues.map((i) => `${flags[String(i.path[0])] ?? i.path.join('.')}: ${i.message}`).join('; ')}`,
          );
        }
        const result = await runDrill(parsed.data, log);
        if (opts.json) ctx.io.out(`${JSON.stringify(result.report, null, 2)}\n`);
        else ctx.io.out(`drill report: ${result.files.markdown}\n  JSON: ${result.files.json}\n  timeline: ${result.files.svg}\n`);
        ctx.setExit(result.exitCode);
      },
    );
}
