/**
 * Exit codes scripts can branch on (docs/cli.md). Stable: changing one breaks
 * somebody's runbook automation.
 */
export const EXIT = {
  ok: 0,
  /** Anything else: an unexpected error, a prompt declined, a stack not all healthy. */
  other: 1,
  /** Bad arguments or invalid input (the message names the flag or field): nothing was started or sent. */
  usage: 2,
  /** A tool the local stack needs is missing (java, mvn, python3). */
  missingTool: 3,
  /** The playbook failed, was rejected, timed out, was aborted or cancelled, or refused a decision or abort. */
  playbookFailed: 4,
  /** Temporal is unreachable (address, namespace connection). */
  unreachable: 5,
  /** Another playbook already runs under the workflow ID (one cutover at a time per pair): nothing was started. */
  conflict: 6,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error the CLI reports as one `kafka-dr: <message>` line with its exit code. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
  }
}

/** Bad arguments: exit 2, nothing started. */
export const usageError = (message: string) => new CliError(message, EXIT.usage);
