import { spawn } from 'node:child_process';
import type { WorkflowBundle } from '@temporalio/worker';

/**
 * The workflow bundle, built by a short-lived child process. Letting Worker.create bundle
 * from `workflowsPath` runs webpack in the worker's process, whose heap keeps what webpack
 * allocated: `node dist/bench/footprint.js` measured an idle worker at 294 MiB that way and
 * 227-238 MiB with the bundle built here (docs/benchmarks.md). Bundling at
 * every start, rather than shipping a prebuilt file, means a worker can never run workflow
 * code older than the build it was started from.
 */
export function bundleWorkflowsOutOfProcess(workflowsPath: string): Promise<WorkflowBundle> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [require.resolve('./bundle-workflows-main'), workflowsPath], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const code: Buffer[] = [];
    const errors: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => code.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => errors.push(chunk));
    child.once('error', (err) => reject(new Error(`cannot start the workflow bundler (${process.execPath}): ${err.message}`)));
    child.once('close', (exitCode, signal) => {
      if (exitCode === 0) return resolve({ code: Buffer.concat(code).toString('utf8') });
      const stderr = Buffer.concat(errors).toString('utf8').trim().split('\n').slice(-15).join('\n');
      reject(new Error(`bundling the workflows in ${workflowsPath} failed (${signal ?? `exit ${exitCode}`}): ${stderr || 'no output'}`));
    });
  });
}
