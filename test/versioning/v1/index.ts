// Bundle entry: the versioned test playbook as version 'v1' (see ../playbook.ts).
import type { PlaybookReport } from '../../../src/model/gates';
import { versionedCutoverBody } from '../playbook';

/** Test-only playbook, version 'v1'. */
export async function versionedCutover(raw: unknown): Promise<PlaybookReport> {
  return versionedCutoverBody(raw, 'v1');
}
