/**
 * One line per activity for the Temporal UI's timeline ("stop MM2 connectors" instead of
 * `stopConnectors`). Pure data, shared by the workflows (activity summaries) and tests.
 * An activity missing here gets its name spelled out in words.
 */
export const ACTIVITY_SUMMARIES: Readonly<Record<string, string>> = {
  clusterHealth: 'check the cluster: brokers, controller, partitions',
  replicationLag: 'measure MM2 replication lag',
  replicationFreshness: 'read the newest replicated heartbeat',
  waitForQuietProducers: 'wait until producers are quiet',
  waitForDrain: 'wait for MM2 lag to drain to zero',
  stopConnector: 'stop an MM2 connector',
  stopConnectors: 'stop the forward MM2 connectors',
  resumeConnector: 'resume an MM2 connector',
  deleteConnector: 'delete an MM2 connector',
  waitForConnectorState: 'wait for the connector state',
  connectorStatus: 'read connector and task states',
  getConnectorOffsets: "read MM2's committed source offsets",
  alterConnectorOffsets: "set MM2's source offsets (Connect offsets API)",
  snapshotEndOffsets: 'snapshot end offsets',
  failoverSnapshot: "read the failover's offset snapshot",
  planOffsetTranslation: 'plan consumer group positions',
  applyOffsetTranslation: 'place consumer groups on the target',
  planFailbackSeedOffsets: 'plan where reverse replication starts',
  planForwardResumeOffsets: 'plan where forward replication resumes',
  waitForReverseCatchUp: 'wait for reverse replication to catch up',
  planMirrorFlow: 'plan the MM2 connectors',
  deployMirrorFlow: 'create or update the MM2 connectors',
  removeMirrorFlow: 'remove the MM2 connectors',
  waitForHeartbeats: 'wait for replicated heartbeats',
  describeTopics: 'describe topics',
  detectTopicRecreation: 'detect a recreated source topic',
  deleteTopic: 'delete the mirrored topic',
  waitForTopic: 'wait for the topic to be recreated',
  resetConsumerGroup: 'reset consumer group offsets',
  auditTopicDrift: 'compare topic configs across the pair',
  repairTopicConfigs: 'repair topic configs on the target',
  runCutoverHook: 'run the cutover hook (move clients)',
  notifyEscalation: 'notify: a gate waits too long',
};

/** The UI line for an activity: from the table, else its name in words (`waitForTopic` → "wait for topic"). */
export function activitySummary(name: string): string {
  return ACTIVITY_SUMMARIES[name] ?? name.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
}
