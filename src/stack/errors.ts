/**
 * A stack failure an operator can act on: one line, naming the thing and what to do.
 * `kind` lets callers choose an exit code without parsing the message.
 */
export type StackErrorKind = 'bad-config' | 'missing-tool' | 'port-taken' | 'install-failed' | 'start-failed';

export class StackError extends Error {
  constructor(
    readonly kind: StackErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'StackError';
  }
}
