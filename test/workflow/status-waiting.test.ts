import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Context } from '@temporalio/activity';
import { playbookSnapshot } from '../../src/client/operations';
import { renderStatus, statusEvents } from '../../src/cli/status-view';
import type { failover } from '../../workflows/failover';
import { abortSignal, approveSignal } from '../../workflows/framework';
import { gateOpen, startStubWorker, type StubWorker } from '../helpers/playbook';
import { eventually, uniqueId } from '../helpers/stack';
import { createStubs, failoverInput, lagReport } from '../replay/stubs';

/**
 * A producer nobody stopped: the planned failover waits in verify-quiet for as long as the
 * source keeps growing. `kafka-dr status` must say why: the activity it waits on and its
 * last heartbeat (the partitions still written to), read from Temporal's describe.
 */
describe('status while a step waits: the pending activity and its heartbeat', { timeout: 60_000 }, () => {
  let harness: StubWorker;
  let release = false;

  before(async () => {
    const stubs = createStubs(() => ({ lagTotal: '0' }));
    harness = await startStubWorker({
      name: 'status-waiting',
      activities: {
        ...stubs,
        replicationLag: async () => lagReport('0'),
        // Shaped like the real waitForQuietProducers heartbeat while orders-0 keeps growing.
        async waitForQuietProducers() {
          let polls = 0;
          while (!release) {
            polls++;
            Context.current().heartbeat({
              polls,
              lastChangeAt: new Date().toISOString(),
              changedPartitions: ['orders-0'],
              changedCount: 1,
            });
            await Context.current().sleep(200);
          }
          return { quietForMs: 1000, polls, partitions: 1 };
        },
      },
    });
  });

  after(async () => {
    release = true;
    await harness?.close();
  });

  it('names the waited-on activity with its last heartbeat in the status view and the watch events', async () => {
    const h = await harness.client.workflow.start<typeof failover>('failover', {
      taskQueue: harness.taskQueue,
      workflowId: `status-waiting-${uniqueId()}`,
      args: [failoverInput()],
    });
    try {
      await gateOpen(h, 'stop-producers');
      await h.signal(approveSignal, { gate: 'stop-producers', by: 'bob' });
      const snap = await eventually(
        'status shows the heartbeat of waitForQuietProducers',
        async () => {
          const s = await playbookSnapshot(harness.client, h.workflowId);
          const w = s.waitingOn?.find((a) => a.activity === 'waitForQuietProducers');
          return w && w.heartbeat ? s : undefined;
        },
        20_000,
        250,
      );
      const waiting = snap.waitingOn!.find((a) => a.activity === 'waitForQuietProducers')!;
      assert.equal(waiting.attempt, 1);
      assert.deepEqual((waiting.heartbeat as { changedPartitions: string[] }).changedPartitions, ['orders-0']);
      assert.ok(waiting.lastHeartbeatAt && Date.parse(waiting.lastHeartbeatAt) > Date.now() - 60_000);
      const text = renderStatus(snap);
      assert.match(
        text,
        /\nWaiting on\n {2}.*\[waitForQuietProducers\] \(attempt 1, last heartbeat [^)]+\): \{"polls":\d+,.*"changedPartitions":\["orders-0"\]/,
      );
      assert.ok(statusEvents(snap).some((e) => e.key === 'waiting:waitForQuietProducers' && /orders-0/.test(e.line)));
    } finally {
      await h.signal(abortSignal, { by: 'test', reason: 'done' });
      await h.result().catch(() => undefined);
    }
  });
});
