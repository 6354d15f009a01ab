// Bundle entry: the versioned test playbook as version 'v2-unpatched' (see ../playbook.ts).
import type { PlaybookReport } from '../../../src/model/gates';
import { versionedCutoverBody } from '../playbook';

/** Test-only playbook, version 'v2-unpatched'. */
export async function versionedCutover(raw: unknown): Promise<PlaybookReport> {
  return versionedCutoverBody(raw, 'v2-unpatched');
}
