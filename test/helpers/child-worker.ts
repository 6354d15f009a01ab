import { spawn, type ChildProcess } from 'node:child_process';
import * as readline from 'node:readline';
import { ChildEventSchema, type ChildEvent, type PausePoint } from './child-worker-protocol';

export type { ChildEvent, PausePoint } from './child-worker-protocol';

/**
 * The parent's side of child-worker-main.ts: starts a kafka-dr worker as a child process
 * on a task queue, reads its events, and kills it like a crash would (SIGKILL: no
 * shutdown, no completion reported for the activities it was running).
 */

type Paused = Extract<ChildEvent, { event: 'paused' }>;

const live = new Set<ChildWorker>();

export class ChildWorker {
  readonly events: ChildEvent[] = [];
  /** The last lines the child wrote to stderr, for a failure message. */
  readonly stderrTail: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private listeners: Array<() => void> = [];
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  private constructor(private readonly child: ChildProcess) {
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        live.delete(this);
        this.notify();
        resolve({ code, signal });
      });
    });
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      const parsed = ChildEventSchema.safeParse(safeJson(line));
      if (parsed.success) this.events.push(parsed.data);
      else this.log(line);
      this.notify();
    });
    readline.createInterface({ input: child.stderr! }).on('line', (line) => this.log(line));
  }

  /** Starts a child worker and waits until it polls (bundling the workflows takes a while on 2 cores). */
  static async start(options: {
    taskQueue: string;
    registry?: unknown;
    pauseAt?: PausePoint[];
    /** A file listing (JSON array) the pauseAt indexes no child may pause at any more. */
    consumedFile?: string;
    readyTimeoutMs?: number;
  }): Promise<ChildWorker> {
    const env: NodeJS.ProcessEnv = { ...process.env, KDR_CHILD_TASK_QUEUE: options.taskQueue };
    if (options.consumedFile) env.KDR_CHILD_CONSUMED_FILE = options.consumedFile;
    if (options.registry !== undefined) env.KDR_CHILD_REGISTRY = JSON.stringify(options.registry);
    if (options.pauseAt?.length) env.KDR_CHILD_PAUSE_AT = JSON.stringify(options.pauseAt);
    const child = spawn(process.execPath, [require.resolve('./child-worker-main')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const worker = new ChildWorker(child);
    live.add(worker);
    try {
      await worker.waitFor('the child worker ready', (e) => e.event === 'ready', options.readyTimeoutMs ?? 180_000);
    } catch (err) {
      await worker.kill();
      throw err;
    }
    return worker;
  }

  get pid(): number {
    return this.child.pid!;
  }

  get alive(): boolean {
    return this.exitInfo === undefined;
  }

  /** Resolves with the first event (already seen or to come) matching `match`; fails if the child exits first or on timeout. */
  waitFor<E extends ChildEvent>(what: string, match: (e: ChildEvent) => e is E, timeoutMs: number): Promise<E>;
  waitFor(what: string, match: (e: ChildEvent) => boolean, timeoutMs: number): Promise<ChildEvent>;
  waitFor(what: string, match: (e: ChildEvent) => boolean, timeoutMs: number): Promise<ChildEvent> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.events.find(match);
        if (found) return done(() => resolve(found));
        if (this.exitInfo)
          return done(() =>
            reject(
              new Error(
                `child worker exited (${JSON.stringify(this.exitInfo)}) before ${what}; stderr: ${this.stderrTail.slice(-15).join(' | ')}`,
              ),
            ),
          );
      };
      const timer = setTimeout(
        () =>
          done(() =>
            reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; stderr: ${this.stderrTail.slice(-15).join(' | ')}`)),
          ),
        timeoutMs,
      );
      const done = (fn: () => void) => {
        clearTimeout(timer);
        this.listeners = this.listeners.filter((l) => l !== check);
        fn();
      };
      this.listeners.push(check);
      check();
    });
  }

  /** Waits until the child paused: at pause point `point` (index into pauseAt), or at any when `point` is undefined. */
  waitForPause(point: number | undefined, timeoutMs: number): Promise<Paused> {
    return this.waitFor(
      point === undefined ? 'a pause' : `pause point ${point}`,
      (e): e is Paused => e.event === 'paused' && (point === undefined || e.point === point),
      timeoutMs,
    );
  }

  /** SIGKILL: the crash. Resolves once the process is gone. */
  async kill(): Promise<void> {
    if (!this.alive) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM (the SDK shuts the worker down), SIGKILL after `graceMs`. */
  async stop(graceMs = 20_000): Promise<void> {
    if (!this.alive) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** Kills every child worker this process started and that still runs (for after() hooks). */
  static async killAll(): Promise<void> {
    await Promise.all([...live].map((w) => w.kill()));
  }

  private log(line: string): void {
    this.stderrTail.push(line);
    if (this.stderrTail.length > 200) this.stderrTail.shift();
  }

  private notify(): void {
    for (const l of [...this.listeners]) l();
  }
}

function safeJson(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}
