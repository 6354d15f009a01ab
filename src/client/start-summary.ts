/**
 * What the Temporal UI shows of a playbook before anything ran: a one-line summary (the
 * workflow list's Summary column) and static details (pair, playbook, topics, groups,
 * requester), set at start from the validated input. Never secrets: inputs hold aliases only.
 */
export interface StartSummary {
  summary: string;
  details: string;
}

type Input = Record<string, unknown>;
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const list = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
const named = (label: string, items: string[]) => (items.length > 0 ? [`- ${label}: ${items.join(', ')}`] : []);

export function startSummary(playbook: string, input: Input): StartSummary {
  const by = str(input.requestedBy);
  const dry = input.dryRun === true ? ' (dry run)' : '';
  let head: string;
  let body: string[];
  switch (playbook) {
    case 'failover':
      head = `failover ${str(input.source)} → ${str(input.target)}, ${str(input.mode) ?? 'planned'}`;
      body = [...named('topics', list(input.topics)), ...named('groups', list(input.groups)), `- policy: ${str(input.policy)}`];
      break;
    case 'failback':
      head = `failback ${str(input.dr)} → ${str(input.primary)}`;
      body = [...named('topics', list(input.topics)), ...named('groups', list(input.groups)), `- policy: ${str(input.policy)}`];
      break;
    case 'recreate-topic':
      head = `recreate topic ${str(input.topic)} on ${str(input.target)} (mirror of ${str(input.source)})`;
      body = [`- connector: ${str(input.sourceConnector)} on ${str(input.connect)}`, ...named('groups', list(input.groups))];
      break;
    case 'deploy-replication': {
      const plan = (input.plan ?? {}) as Input;
      head = `deploy MM2 ${str(plan.source)} → ${str(plan.target)} on ${str(plan.connect)}`;
      const groups = Array.isArray(plan.topicGroups)
        ? (plan.topicGroups as Input[]).map((g) => `${str(g.name)} (${list(g.topics).join(', ')})`)
        : [];
      body = [...named('topic groups', groups), ...named('consumer groups', list(plan.groups))];
      break;
    }
    case 'audit-drift': {
      const flows = Array.isArray(input.flows) ? (input.flows as Input[]) : [];
      head = `audit drift of ${flows.map((f) => `${str(f.source)} → ${str(f.target)}`).join(', ')}`;
      body = flows.map((f) => `- ${str(f.source)} → ${str(f.target)}: ${list(f.topics).join(', ')}`);
      break;
    }
    default:
      head = playbook;
      body = [];
  }
  const summary = `${head}${dry}${by ? `, requested by ${by}` : ''}`;
  return { summary, details: [`**${summary}**`, '', ...body].join('\n') };
}
