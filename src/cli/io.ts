import * as readline from 'node:readline';

/**
 * Where the CLI reads and writes. The process's streams in production; tests run the
 * CLI in-process with their own (terminal or not), so no test spawns a process just to
 * read an error line.
 */
export interface CliIo {
  /** Standard output (results: reports, tables, JSON). */
  out(text: string): void;
  /** Standard error (progress, prompts, errors). */
  err(text: string): void;
  /** Whether stdout is a terminal: `status --watch` redraws in place only then. */
  stdoutIsTTY: boolean;
  /** Whether stdin is a terminal: a destructive start asks for confirmation only then. */
  stdinIsTTY: boolean;
  env: NodeJS.ProcessEnv;
  /** Asks one question on the terminal; resolves with the answer line. */
  prompt(question: string): Promise<string>;
  /** Reads all of stdin (`--input -`). */
  readStdin(): Promise<string>;
  /** Waits (the watch loop's poll interval); tests may shorten it. */
  sleep(ms: number): Promise<void>;
}

export function processIo(): CliIo {
  return {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    stdoutIsTTY: process.stdout.isTTY === true,
    stdinIsTTY: process.stdin.isTTY === true,
    env: process.env,
    prompt: (question) =>
      new Promise((resolve) => {
        const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
        rl.question(question, (answer) => {
          rl.close();
          resolve(answer);
        });
        // Ctrl-D: no answer is a no.
        rl.on('close', () => resolve(''));
      }),
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
  };
}
