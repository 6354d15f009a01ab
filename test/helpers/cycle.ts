import assert from 'node:assert/strict';
import type { WorkflowHandle } from '@temporalio/client';
import type { Kafka } from 'kafkajs';
import type { FailbackFigures } from '../../src/model/failback-input';
import type { FailoverFigures } from '../../src/model/failover-input';
import type { PlaybookReport } from '../../src/model/gates';
import { approveSignal } from '../../workflows/framework';
import { captureHistory } from '../replay/capture';
import { e2eGateOpen } from './playbook';
import type { SeqConsumer, SeqProducer } from './seq-clients';

/** The operator's part in the cycle tests (failover-failback-e2e, default-policy-cycle-e2e), clients moved at each gate. */

/**
 * Plays the operator through a failback with traffic (gates approved by bob): the consumer
 * stops at consumers-cutover and starts on A at stop-producers (after `placed` checked where
 * the group stands), the producer moves to A at producers-cutover. Returns the report.
 */
export async function failBackTraffic(
  fb: WorkflowHandle,
  to: { kafkaA: Kafka; topics: string[]; fromBeginning: boolean },
  producer: SeqProducer,
  consumer: SeqConsumer,
  steps: { placed?: () => Promise<void>; mark: (what: string) => void },
): Promise<PlaybookReport<FailbackFigures>> {
  await e2eGateOpen(fb, 'consumers-cutover');
  await consumer.stop();
  await fb.signal(approveSignal, { gate: 'consumers-cutover', by: 'bob', comment: 'consumers stopped on B' });
  // translate-offsets runs right after the approval; the next gate opens once the group is set on A.
  await e2eGateOpen(fb, 'stop-producers');
  await steps.placed?.();
  await consumer.start(to.kafkaA, to.topics, to.fromBeginning);
  steps.mark('failback: consumer moved to A');
  await producer.stop();
  await fb.signal(approveSignal, { gate: 'stop-producers', by: 'bob' });
  await e2eGateOpen(fb, 'producers-cutover');
  await producer.start(to.kafkaA, 'A');
  await fb.signal(approveSignal, { gate: 'producers-cutover', by: 'bob' });
  const report = (await fb.result()) as PlaybookReport<FailbackFigures>;
  assert.equal(report.outcome, 'completed', `${report.reason ?? ''} ${JSON.stringify(report.steps)}`);
  return report;
}

/** The end of a failover with traffic: the producer moves to B, producers-cutover approved, the run completed and its history captured. */
export async function finishFailoverTraffic(
  fo: WorkflowHandle,
  kafkaB: Kafka,
  producer: SeqProducer,
  history: string,
): Promise<PlaybookReport<FailoverFigures>> {
  await producer.start(kafkaB, 'B');
  await fo.signal(approveSignal, { gate: 'producers-cutover', by: 'bob' });
  const report = (await fo.result()) as PlaybookReport<FailoverFigures>;
  assert.equal(report.outcome, 'completed', report.reason ?? '');
  await captureHistory(fo, history);
  return report;
}
