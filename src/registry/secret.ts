import { inspect } from 'node:util';

/**
 * A credential read from the environment or a file. It prints as `[redacted]`
 * everywhere (String(), JSON, util.inspect, template strings), so handing a
 * resolved cluster to a logger or an error cannot leak it; `reveal()` is the one
 * way to the value, used only where a client library needs it.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return '[redacted]';
  }

  toJSON(): string {
    return '[redacted]';
  }

  [inspect.custom](): string {
    return '[redacted]';
  }
}
