/**
 * What a cutover hook asks the clients to do, moving them from `from` to `to`. Each gate
 * asks one action, except the failback's consumers-cutover, which asks two:
 * `stop-consumers` right after the approval, so the groups' final commits on dr reach the
 * reverse checkpoints before translate-offsets reads them, then `start-consumers` once
 * their offsets are set on the primary. (One call for both, after the translation, kept
 * the groups consuming on dr for the whole translation: duplicates on the primary.)
 */
export const CUTOVER_ACTIONS = ['stop-producers', 'move-consumers', 'stop-consumers', 'start-consumers', 'start-producers'] as const;
export type CutoverAction = (typeof CUTOVER_ACTIONS)[number];

const GATE_ACTIONS: Readonly<Record<string, CutoverAction>> = {
  'stop-producers': 'stop-producers',
  'consumers-cutover': 'move-consumers',
  'producers-cutover': 'start-producers',
};

/**
 * The action a gate asks when its playbook names none: what a hook request from an older
 * workflow (one without `action`) meant. Undefined for a gate that moves no clients.
 */
export function gateAction(gate: string): CutoverAction | undefined {
  return Object.hasOwn(GATE_ACTIONS, gate) ? GATE_ACTIONS[gate] : undefined;
}
