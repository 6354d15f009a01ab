import { loadStackConfig } from '../../src/stack/config';

/** The stack config the CLI would load from `env`, with the repo at a fixed root. */
export const ROOT = '/repo';
export const load = (env: Record<string, string> = {}) => loadStackConfig(env, ROOT);

/** A `key=value` properties file (as the stack writes them) as a map. */
export function parseProps(text: string): Map<string, string> {
  return new Map(
    text
      .trim()
      .split('\n')
      .map((l) => {
        const i = l.indexOf('=');
        return [l.slice(0, i), l.slice(i + 1)] as [string, string];
      }),
  );
}
