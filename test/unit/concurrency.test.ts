import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inBatches } from '../../src/concurrency';

describe('inBatches', () => {
  const tick = () => new Promise((r) => setTimeout(r, 1));

  it('runs every item once with at most `limit` in flight', async () => {
    let inFlight = 0;
    let peak = 0;
    const seen: number[] = [];
    await inBatches([...Array(50).keys()], 4, async (n) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await tick();
      seen.push(n);
      inFlight--;
    });
    assert.deepEqual(
      [...seen].sort((a, b) => a - b),
      [...Array(50).keys()],
    );
    assert.equal(peak, 4);
  });

  it('stops taking new items after the first failure and rethrows it once the running ones end', async () => {
    const started: number[] = [];
    let finished = 0;
    await assert.rejects(
      inBatches([...Array(20).keys()], 2, async (n) => {
        started.push(n);
        await tick();
        finished++;
        if (n === 3) throw new Error('item 3 failed');
      }),
      /^Error: item 3 failed$/,
    );
    assert.ok(started.length < 20, `started ${started.length}`);
    assert.equal(finished, started.length, 'nothing left running');
  });

  it('does nothing for no items', async () => {
    await inBatches([], 8, () => Promise.reject(new Error('never called')));
  });
});
