// A small playbook on the production framework (workflows/framework), in three
// versions, for the versioning test (test/faults/versioning.test.ts). Each version is
// its own bundle entry (v1/, v2/, v2-unpatched/) exporting the same workflow type.
import { patched, proxyActivities } from '@temporalio/workflow';
import { z } from 'zod';
import { PersonSchema, type PlaybookReport } from '../../src/model/gates';
import { clusterPairKey } from '../../src/model/workflow-ids';
import { parseInput, setupPlaybook } from '../../workflows/framework';

/** The stub activities the test worker registers. */
export interface VersionedActivities {
  /** A side effect; the test records each call. */
  effect(what: string): Promise<string>;
}

const act = proxyActivities<VersionedActivities>({ startToCloseTimeout: '10s', retry: { maximumAttempts: 1 } });

export const VersionedInput = z.strictObject({
  source: z.string(),
  target: z.string(),
  requestedBy: PersonSchema,
});

/**
 * The change between v1 and v2: a verification step before the gate. v2 puts it
 * behind `patched()`, so a run started on v1 (no marker in its history) keeps the old
 * path when a v2 worker replays it; v2-unpatched adds it unconditionally, which is the
 * non-deterministic change the negative control must catch.
 */
export const PATCH_ID = 'versioning-test-verify-before-gate';

export type Version = 'v1' | 'v2' | 'v2-unpatched';

export async function versionedCutoverBody(raw: unknown, version: Version): Promise<PlaybookReport> {
  const pb = setupPlaybook({ playbook: 'versioned-cutover', gates: ['go'] });
  const input = parseInput(VersionedInput, raw);
  pb.begin({ clusterPair: clusterPairKey(input.source, input.target), requestedBy: input.requestedBy });
  return pb.run(async () => {
    await pb.step('stop forward connectors', () => act.effect(`stop-forward@${version}`));
    const verify = version === 'v2-unpatched' || (version === 'v2' && patched(PATCH_ID));
    if (verify) await pb.step('verify target', () => act.effect(`verify@${version}`));
    await pb.approval('go', { description: 'move producers', requestedBy: input.requestedBy, deadline: '5 minutes' });
    await pb.step('switch producers', () => act.effect(`switch@${version}`));
    pb.setFigures({ version, verified: verify });
  });
}
