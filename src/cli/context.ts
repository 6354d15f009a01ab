import type { StackConfig } from '../stack/config';
import type { CliIo } from './io';
import type { TemporalTarget } from './temporal';

/** What every command handler gets: streams, settings, and where its exit code goes. */
export interface CliContext {
  io: CliIo;
  repoRoot: string;
  /** Temporal address, namespace, TLS, API key and task queue (global flags, TEMPORAL_*, the Temporal profile, then the stack's); throws CliError (exit 2) naming a bad setting. */
  target(): TemporalTarget;
  /** The local stack's settings (KDR_*); throws StackError('bad-config') naming a bad one. */
  stackConfig(): StackConfig;
  setExit(code: number): void;
}
