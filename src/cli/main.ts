import * as path from 'node:path';
import { CommanderError } from 'commander';
import { RegistryError } from '../registry/load';
import { loadStackConfig, type StackConfig } from '../stack/config';
import { StackError } from '../stack/errors';
import type { ComponentStatus } from '../stack/stack';
import type { CliContext } from './context';
import { CliError, EXIT } from './exit-codes';
import { processIo, type CliIo } from './io';
import { formatStatus } from './local-commands';
import { buildProgram } from './program';
import { TemporalConnectError } from '../temporal/connection';
import { isUnreachable, temporalTarget, unreachableError, type GlobalOptions, type TemporalTarget } from './temporal';

/**
 * `kafka-dr` entry point. Exit codes (docs/cli.md): 0 ok, 1 other, 2 bad arguments
 * or input (nothing started), 3 missing tool, 4 playbook failed/rejected/aborted or
 * decision refused, 5 Temporal unreachable, 6 another playbook runs under the ID.
 */

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

export { formatStatus };

function stackExitCode(err: StackError): number {
  if (err.kind === 'bad-config' || err.kind === 'port-taken') return EXIT.usage;
  if (err.kind === 'missing-tool') return EXIT.missingTool;
  return EXIT.other;
}

/** Every line of a message, the first one prefixed `kafka-dr: ` (what scripts grep for). */
const errorText = (message: string) => `kafka-dr: ${message}\n`;

/** Runs the CLI on `argv` (without node and the script); resolves with the exit code. */
export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  let exitCode: number = EXIT.ok;
  let config: StackConfig | undefined;
  let target: TemporalTarget | undefined;
  const ctx: CliContext = {
    io,
    repoRoot: REPO_ROOT,
    stackConfig: () => (config ??= loadStackConfig(io.env, REPO_ROOT)),
    // Once per run: it reads the profile and the certificate files.
    target: () => (target ??= temporalTarget(program.opts<GlobalOptions>(), io.env, REPO_ROOT)),
    setExit: (code) => {
      exitCode = code;
    },
  };
  const program = buildProgram(ctx);
  if (argv.length === 0) {
    io.err(program.helpInformation());
    return EXIT.usage;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are answers, not errors; everything else commander refuses is usage.
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return EXIT.ok;
      if (err.code === 'commander.help') return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
      return EXIT.usage;
    }
    if (err instanceof CliError) {
      io.err(errorText(err.message));
      return err.exitCode;
    }
    if (err instanceof RegistryError) {
      io.err(errorText(err.message));
      return EXIT.usage;
    }
    if (err instanceof StackError) {
      const report = (err as StackError & { report?: { components: ComponentStatus[] } }).report;
      if (report) io.err(`${formatStatus(report.components)}\n`);
      io.err(errorText(err.message));
      return stackExitCode(err);
    }
    // The worker's connection (createWorker): already one line naming the setting to fix.
    if (err instanceof TemporalConnectError) {
      // Unreachable keeps the usual line with its local-stack hint.
      io.err(errorText(err.kind === 'unreachable' ? unreachableError(ctx.target(), err.cause ?? err).message : err.message));
      return EXIT.unreachable;
    }
    if (isUnreachable(err)) {
      io.err(errorText(unreachableError(ctx.target(), err).message));
      return EXIT.unreachable;
    }
    const message = err instanceof Error ? (io.env.KDR_DEBUG ? (err.stack ?? err.message) : err.message) : String(err);
    io.err(errorText(`${message}${io.env.KDR_DEBUG ? '' : ' (KDR_DEBUG=1 shows the stack trace)'}`));
    return EXIT.other;
  }
}

/** Runs the CLI with this process's arguments and exits with its code. */
export function run(): void {
  // `kafka-dr ... | head` closes the pipe early: that is the reader's choice, not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(EXIT.ok);
  });
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`kafka-dr: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(EXIT.other);
    },
  );
}

if (require.main === module) run();
