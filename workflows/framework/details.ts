import type { PlaybookStatus } from '../../src/model/gates';

/**
 * The Temporal UI's "current details" of a playbook (markdown): what `kafka-dr status`
 * shows first — phase, the open gate with what approving does, who may decide and how,
 * the latest lag — so an operator in the UI need not run a query to know what is asked.
 */
export function renderCurrentDetails(s: PlaybookStatus): string {
  const lines = [`**${s.playbook}** ${s.clusterPair ? `on ${s.clusterPair.replace('~', ' ⇄ ')} ` : ''}— phase **${s.phase}** (${s.state})`];
  if (s.requestedBy) lines.push(`requested by ${s.requestedBy}`);
  const gate = s.openGate;
  if (gate) {
    const who = gate.approvers ? gate.approvers.join(', ') : 'anyone who names themselves';
    lines.push(
      '',
      `### Waiting for approval: \`${gate.name}\``,
      `Approving: ${gate.description}`,
      '',
      `- may approve: ${who}${gate.fourEyes && gate.requestedBy ? ` (not ${gate.requestedBy}: four eyes)` : ''}`,
      `- open since ${gate.openedAt}; decided by the deadline at ${gate.deadlineAt}`,
      `- approve: \`kafka-dr approve ${s.workflowId} ${gate.name} --as <you>\`, or the \`approve\` signal \`{"gate": "${gate.name}", "by": "<you>"}\``,
      `- reject: \`kafka-dr reject ${s.workflowId} ${gate.name} --as <you> --reason <why>\``,
    );
  }
  const running = s.steps.filter((st) => st.state === 'running').map((st) => st.name);
  if (running.length > 0) lines.push('', `running: ${running.join(', ')}`);
  const lag = s.figures['lagAtStart'] ?? null;
  if (typeof lag === 'string') lines.push(`lag at start: ${lag} records`);
  if (s.aborted) lines.push('', `aborted by ${s.aborted.by}: ${s.aborted.reason}`);
  return lines.join('\n');
}
