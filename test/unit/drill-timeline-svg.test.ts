import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DrillPhase } from '../../src/drill/report-types';
import { escapeXml, tickStepMs, timelineSvg } from '../../src/drill/timeline-svg';
import { parseXml } from '../helpers/xml';

const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, 0) + s * 1000).toISOString();
const phases: DrillPhase[] = [
  { name: 'stack', startedAt: at(0), endedAt: at(10) },
  { name: 'failover', startedAt: at(10), endedAt: at(40) },
  { name: 'gate stop-producers', startedAt: at(12), endedAt: at(13), parent: 'failover' },
  { name: 'drain', startedAt: at(15), endedAt: at(35), parent: 'failover' },
  { name: 'verification <&>', startedAt: at(40), endedAt: at(60) },
];

function bars(svg: string): Array<{ phase: string; x: number; width: number }> {
  return [...svg.matchAll(/<rect class="bar" data-phase="([^"]*)"[^>]* x="([\d.]+)" y="[\d.]+" width="([\d.]+)"/g)].map((m) => ({
    phase: m[1]!,
    x: Number(m[2]),
    width: Number(m[3]),
  }));
}

describe('drill timeline SVG', () => {
  const svg = timelineSvg(phases, { plotWidth: 600 });

  it('draws one bar per phase, in order', () => {
    const b = bars(svg);
    assert.equal(b.length, phases.length);
    assert.deepEqual(
      b.map((x) => x.phase),
      phases.map((p) => escapeXml(p.name)),
    );
  });

  it('makes widths proportional to durations and positions proportional to start times', () => {
    const b = bars(svg);
    // 60 s over 600 px: 10 px per second.
    assert.deepEqual(
      b.map((x) => x.width),
      [100, 300, 10, 200, 200],
    );
    assert.equal(b[1]!.x - b[0]!.x, 100);
    assert.equal(b[3]!.x - b[0]!.x, 150);
  });

  it('is a well-formed standalone SVG document with escaped labels', () => {
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.ok(svg.trimEnd().endsWith('</svg>'));
    assert.ok(svg.includes('verification &lt;&amp;&gt;'));
    assert.ok(!svg.includes('<&>'));
    const elements = parseXml(svg);
    assert.equal(elements[0]!.tag, 'svg');
    const parsedBars = elements.filter((e) => e.tag === 'rect' && e.attrs.class === 'bar');
    assert.deepEqual(
      parsedBars.map((b) => b.attrs['data-phase']),
      phases.map((p) => p.name),
      'labels unescaped by the parser',
    );
    assert.throws(() => parseXml(svg.replace('</svg>', '')), 'the parser does refuse a truncated document');
  });

  it('still renders an empty timeline', () => {
    const empty = timelineSvg([]);
    assert.equal(bars(empty).length, 0);
    assert.ok(empty.includes('</svg>'));
  });

  it('picks a tick step giving at most 10 ticks', () => {
    assert.equal(tickStepMs(60_000), 10_000);
    assert.equal(tickStepMs(150_000), 15_000);
    assert.ok(180_000 / tickStepMs(180_000) <= 10);
  });
});
