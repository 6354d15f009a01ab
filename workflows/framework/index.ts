// The playbook framework: import from here (the modules behind it are an implementation detail).
export * from './messages';
export { Gates, DECISION_REFUSED, PLAYBOOK_BUG, type GateOptions, type GateResult } from './gates';
export { Journal, SEARCH_ATTRIBUTE_KEYS, describeError, nowIso, type StepControl, type StepOptions } from './journal';
export { Compensations } from './compensation';
export { CUTOVER_HOOKS_PATCH, ESCALATION_NOTIFY_PATCH, hookStepName, type CutoverDirection } from './cutover';
export { INVALID_INPUT, MAX_INPUT_CHARS, parseInput } from './parse-input';
export { PLAYBOOK_FAILED, Playbook, setupPlaybook, type PlaybookSetup } from './playbook';
export { stepsFrom } from './runbook';
export { block, gateOptions, plannedGate, PRECONDITION_FAILED, refuse, type GateGuard } from './guards';
