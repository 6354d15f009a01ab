import { spawn } from 'node:child_process';
import * as path from 'node:path';
import type { CliIo } from '../../src/cli/io';
import { main } from '../../src/cli/main';

/**
 * Runs `kafka-dr` for tests: in-process with captured streams (fast: no process
 * per case on a 2-core machine), or as a child process of this very build (for pipe
 * behaviour). Both use the build the test runs from, never dist/ of another build.
 */

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Questions the CLI asked on the "terminal". */
  prompts: string[];
}

export interface InProcessOptions {
  env?: NodeJS.ProcessEnv;
  stdinIsTTY?: boolean;
  stdoutIsTTY?: boolean;
  /** Answers to prompts, in order (default: none, i.e. an empty answer). */
  answers?: string[];
  stdin?: string;
}

/** `kafka-dr <argv>` in this process. */
export async function runCli(argv: string[], options: InProcessOptions = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const prompts: string[] = [];
  const answers = [...(options.answers ?? [])];
  const io: CliIo = {
    out: (t) => (stdout += t),
    err: (t) => (stderr += t),
    stdoutIsTTY: options.stdoutIsTTY ?? false,
    stdinIsTTY: options.stdinIsTTY ?? false,
    env: options.env ?? process.env,
    prompt: async (q) => {
      prompts.push(q);
      return answers.shift() ?? '';
    },
    readStdin: async () => options.stdin ?? '',
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
  };
  const code = await main(argv, io);
  return { code, stdout, stderr, prompts };
}

/** The CLI entry of this build (src/cli/main.js in the same output dir as this test). */
export const CLI_ENTRY = path.resolve(__dirname, '..', '..', 'src', 'cli', 'main.js');

export interface SpawnedCli {
  /** Everything written so far. */
  output(): { stdout: string; stderr: string };
  done: Promise<CliRun>;
  kill(): void;
}

/** `kafka-dr <argv>` as a child process with piped stdio (stdin closed: not a terminal). */
export function spawnCli(argv: string[], env: NodeJS.ProcessEnv = process.env, timeoutMs = 120_000): SpawnedCli {
  const child = spawn(process.execPath, [CLI_ENTRY, ...argv], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const done = new Promise<CliRun>((resolve) => {
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, prompts: [] });
    });
  });
  return { output: () => ({ stdout, stderr }), done, kill: () => child.kill('SIGTERM') };
}
