import { Command } from 'commander';
import type { CliContext } from './context';
import { addLocalCommands } from './local-commands';
import { addOperateCommands } from './operate-commands';
import { addPlaybookCommands } from './playbook-commands';

/** The `kafka-dr` command tree (commander): global options, then every verb with its own --help. */
export function buildProgram(ctx: CliContext): Command {
  const program = new Command('kafka-dr')
    .description('Kafka MirrorMaker 2 disaster-recovery playbooks on Temporal: start, follow, approve and report')
    // Errors come back to main() as exceptions so it picks the exit code (2 for usage).
    .exitOverride()
    .configureOutput({
      writeOut: (s) => ctx.io.out(s),
      writeErr: (s) => ctx.io.err(s),
      outputError: (s, write) => write(`kafka-dr: ${s.replace(/^error: /, '')}`),
    })
    .showHelpAfterError('(add --help for usage)')
    .option(
      '--address <host:port>',
      "Temporal frontend (default: $TEMPORAL_ADDRESS, else the Temporal profile's, else the local stack's, 127.0.0.1:$KDR_TEMPORAL_PORT)",
    )
    .option(
      '--namespace <name>',
      "Temporal namespace (default: $TEMPORAL_NAMESPACE, else the profile's, else $KDR_TEMPORAL_NAMESPACE or default)",
    )
    .option(
      '--profile <name>',
      'Temporal config profile in $TEMPORAL_CONFIG_FILE or ~/.config/temporalio/temporal.toml (default: $TEMPORAL_PROFILE, else default); TLS and API key: TEMPORAL_TLS_*, TEMPORAL_API_KEY (docs/connecting.md)',
    )
    .option('--task-queue <name>', 'task queue the kafka-dr worker polls (default: kafka-dr)')
    .addHelpText(
      'after',
      `
Exit codes: 0 ok; 1 other error; 2 bad arguments or invalid input (nothing started);
3 a tool the stack needs is missing; 4 the playbook failed, was rejected or aborted, or
refused a decision; 5 Temporal unreachable; 6 another playbook runs under the same ID.

Examples:
  kafka-dr failover --input docs/examples/failover.planned.json --dry-run --wait
  kafka-dr status kafka-dr-cutover-A~B --watch
  kafka-dr approve kafka-dr-cutover-A~B stop-producers --as bob --comment "producers stopped"
  kafka-dr report kafka-dr-cutover-A~B --markdown > failover.md`,
    );
  addPlaybookCommands(program, ctx);
  addOperateCommands(program, ctx);
  addLocalCommands(program, ctx);
  return program;
}
