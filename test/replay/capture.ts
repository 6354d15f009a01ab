import * as fs from 'node:fs';
import * as path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { REPO_ROOT } from '../helpers/stack';

/**
 * Writes completed workflows' histories where test/replay/replay.test.ts replays them.
 * The end-to-end tests call `captureHistory` after each playbook; it writes only when
 * KDR_CAPTURE_FIXTURES=1, so ordinary runs leave the committed fixtures alone:
 *
 *   KDR_CAPTURE_FIXTURES=1 node --test dist/test/integration/failover-failback-e2e.test.js
 */

export const HISTORIES_DIR = path.join(REPO_ROOT, 'test', 'replay', 'histories');

export const captureEnabled = (): boolean => process.env.KDR_CAPTURE_FIXTURES === '1';

/**
 * The history as plain JSON (int64 as strings, enums as names, bytes base64), read back with
 * `History.fromObject`. Not `historyToJSON` from @temporalio/common: in this install it uses a
 * nested protobufjs 8 while @temporalio/proto resolves the hoisted protobufjs 7, and it throws
 * "TypeError: type must be a Type".
 */
export function historyToPlainJSON(history: temporal.api.history.v1.IHistory): unknown {
  return temporal.api.history.v1.History.toObject(temporal.api.history.v1.History.fromObject(history), {
    longs: String,
    enums: String,
    bytes: String,
  });
}

/** Writes `<dir>/<name>.json`; returns the path and the event count. */
export function writeHistory(
  history: temporal.api.history.v1.IHistory,
  name: string,
  dir = HISTORIES_DIR,
): { file: string; events: number } {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.json`);
  fs.writeFileSync(file, `${JSON.stringify(historyToPlainJSON(history), null, 1)}\n`);
  return { file, events: history.events?.length ?? 0 };
}

/** With KDR_CAPTURE_FIXTURES=1: writes the (completed) workflow's history as `e2e-<name>.json`. */
export async function captureHistory(handle: WorkflowHandle, name: string): Promise<string | undefined> {
  if (!captureEnabled()) return undefined;
  const { file, events } = writeHistory(await handle.fetchHistory(), `e2e-${name}`);
  console.log(`captured ${events} events of ${handle.workflowId} → ${path.relative(REPO_ROOT, file)}`);
  return file;
}
