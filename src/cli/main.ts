import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { loadStackConfig, type StackConfig } from '../stack/config';
import { RegistryError } from '../registry/load';
import { StackError } from '../stack/errors';
import { down, status, up, type ComponentStatus } from '../stack/stack';
import { runWorker } from '../../workers/main';

/**
 * `kafka-dr` entry point. Exit codes scripts can rely on:
 * 0 ok, 1 failed, 2 bad input or configuration, 3 a required tool is missing.
 */

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

const USAGE = `usage: kafka-dr <command>

  stack up [--json]       start the local DR stack (Kafka A/B, connect-a/-b, Temporal), reusing what runs
  stack down              stop the processes this stack started
  stack status [--json]   each component, its address and health
  worker                  run the kafka-dr Temporal worker against the stack

Settings come from KDR_* environment variables (see README, "The local stack").`;

const log = (line: string) => console.error(`kafka-dr: ${line}`);

function exitCodeFor(err: StackError): number {
  if (err.kind === 'bad-config' || err.kind === 'port-taken') return 2;
  if (err.kind === 'missing-tool') return 3;
  return 1;
}

export function formatStatus(rows: ComponentStatus[]): string {
  const lines = rows.map((r) =>
    [
      r.component.padEnd(10),
      r.state.padEnd(9),
      r.address.padEnd(24),
      (r.pid ? `pid ${r.pid}` : '').padEnd(10),
      (r.rssMiB !== undefined ? `${r.rssMiB} MiB` : '').padEnd(9),
      r.detail,
    ].join(' '),
  );
  return ['COMPONENT  STATE     ADDRESS                  PID        RSS       DETAIL', ...lines].join('\n');
}

async function stackCommand(config: StackConfig, verb: string | undefined, json: boolean): Promise<number> {
  switch (verb) {
    case 'up': {
      const report = await up(config, log);
      if (json) console.log(JSON.stringify(report, null, 2));
      else {
        console.log(formatStatus(report.components));
        console.log(`\nstack up in ${report.totalSeconds.toFixed(1)} s. Temporal UI: ${config.temporal.uiUrl}`);
      }
      return 0;
    }
    case 'down':
      await down(config, log);
      console.log('stack down: every process this stack started is stopped');
      return 0;
    case 'status': {
      const rows = await status(config);
      if (json) console.log(JSON.stringify(rows, null, 2));
      else console.log(formatStatus(rows));
      // Non-zero unless the whole stack is usable, so scripts can gate on it.
      return rows.every((r) => r.state === 'healthy') ? 0 : 1;
    }
    default:
      console.error(`kafka-dr stack: unknown verb '${verb ?? ''}' (expected up, down or status)`);
      return 2;
  }
}

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } },
  });
  const [command, verb] = positionals;
  if (values.help || !command) {
    console.log(USAGE);
    return values.help ? 0 : 2;
  }
  try {
    const config = loadStackConfig(process.env, REPO_ROOT);
    switch (command) {
      case 'stack':
        return await stackCommand(config, verb, values.json);
      case 'worker': {
        await runWorker(config);
        return 0;
      }
      default:
        console.error(`kafka-dr: unknown command '${command}'\n\n${USAGE}`);
        return 2;
    }
  } catch (err) {
    if (err instanceof RegistryError) {
      console.error(`kafka-dr: ${err.message}`);
      return 2;
    }
    if (err instanceof StackError) {
      const report = (err as StackError & { report?: { components: ComponentStatus[] } }).report;
      if (report) console.error(formatStatus(report.components));
      console.error(`kafka-dr: ${err.message}`);
      return exitCodeFor(err);
    }
    throw err;
  }
}

/** Runs the CLI with this process's arguments and exits with its code. */
export function run(): void {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(`kafka-dr: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      process.exit(1);
    },
  );
}

if (require.main === module) run();
