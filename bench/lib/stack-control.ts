import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadStackConfig } from '../../src/stack/config';
import { stopProcess, runningProcess } from '../../src/stack/processes';
import { up } from '../../src/stack/stack';
import { REPO_ROOT, stack } from './common';

type ConnectWorker = 'connect-a' | 'connect-b';

/** The offset flush interval a stack Connect worker was started with (its generated worker.properties). */
export function runningFlushMs(worker: ConnectWorker): number | undefined {
  try {
    const props = fs.readFileSync(path.join(stack.dataDir, worker, 'worker.properties'), 'utf8');
    const m = /^offset\.flush\.interval\.ms=(\d+)/m.exec(props);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Restarts one of this stack's Connect workers with another `offset.flush.interval.ms`
 * (the setting is worker-level and read at start). Only the process this stack dir
 * recorded is stopped; `stack up` then starts just that worker and waits until MM2 is
 * ready. Connectors survive: their configs live in Connect's config topic.
 */
export async function ensureConnectFlush(
  worker: ConnectWorker,
  flushMs: number,
  log: (line: string) => void,
): Promise<'kept' | 'restarted'> {
  if (runningProcess(stack, worker) && runningFlushMs(worker) === flushMs) return 'kept';
  log(`restarting ${worker} with offset.flush.interval.ms=${flushMs}`);
  await stopProcess(stack, worker, 30_000);
  const config = loadStackConfig({ ...process.env, KDR_CONNECT_OFFSET_FLUSH_MS: String(flushMs) }, REPO_ROOT);
  await up(config, (line) => log(`  ${line}`));
  return 'restarted';
}
