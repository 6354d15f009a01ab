import type { StackConfig } from '../stack/config';
import type { CliIo } from './io';
import type { TemporalTarget } from './temporal';

/** What every command handler gets: streams, settings, and where its exit code goes. */
export interface CliContext {
  io: CliIo;
  repoRoot: string;
  /** Temporal address, namespace and task queue (global flags, TEMPORAL_*, then the stack's). */
  target(): TemporalTarget;
  /** The local stack's settings (KDR_*); throws StackError('bad-config') naming a bad one. */
  stackConfig(): StackConfig;
  setExit(code: number): void;
}
