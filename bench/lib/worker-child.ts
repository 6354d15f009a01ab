import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { rssMiBOf, stack, uniqueId } from './common';

/** A worker process started by a benchmark (bench/lib/worker-proc), and a client to drive it. */
export interface WorkerChild {
  pid: number;
  taskQueue: string;
  client: Client;
  /** RSS sampled every 200 ms from start to stop: max and last. */
  rss(): { nowMiB: number | undefined; peakMiB: number; samples: number };
  /** Resets the peak (to measure one phase, e.g. a failback). */
  resetPeak(): void;
  stop(): Promise<void>;
}

export async function startWorkerChild(): Promise<WorkerChild> {
  const taskQueue = `kafka-dr-bench-${uniqueId()}`;
  const child: ChildProcess = spawn(process.execPath, [path.join(__dirname, 'worker-proc.js'), taskQueue], {
    env: process.env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const pid = child.pid!;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('bench worker not ready after 120 s')), 120_000);
    child.once('exit', (code) => reject(new Error(`bench worker exited with ${code} before it was ready`)));
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  let peak = 0;
  let samples = 0;
  const sampler = setInterval(() => {
    const r = rssMiBOf(pid);
    if (r !== undefined) {
      peak = Math.max(peak, r);
      samples++;
    }
  }, 200);
  const connection = await Connection.connect({ address: stack.temporal.address });
  const client = new Client({ connection, namespace: stack.temporal.namespace });
  return {
    pid,
    taskQueue,
    client,
    rss: () => ({ nowMiB: rssMiBOf(pid), peakMiB: peak, samples }),
    resetPeak: () => {
      peak = rssMiBOf(pid) ?? 0;
    },
    async stop() {
      clearInterval(sampler);
      await connection.close();
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}
