import { describe, expect, it } from 'vitest';
import { AutoQueue } from './auto-queue.ts';

function setup(accept = true) {
  const queued: number[] = [];
  const stops: string[] = [];
  const auto = new AutoQueue(async () => {
    queued.push(queued.length + 1);
    return accept;
  }, (reason) => stops.push(reason));
  return { auto, queued, stops };
}

describe('AutoQueue', () => {
  it('does nothing by itself in the default mode', () => {
    const { auto, queued } = setup();
    auto.edited();
    auto.queueSize(1);
    auto.queueSize(0);
    expect(queued).toEqual([]);
  });

  it('queues again each time the queue runs empty in Instant mode, and stops after a failed run', () => {
    const { auto, queued, stops } = setup();
    auto.mode = 'instant';
    auto.queueSize(1);
    auto.queueSize(0);
    expect(queued).toHaveLength(1);
    auto.queueSize(1);
    auto.queueSize(0);
    expect(queued).toHaveLength(2);
    auto.runFailed('interrupted');
    expect(auto.mode).toBe('once');
    expect(stops).toEqual(['interrupted']);
    auto.queueSize(1);
    auto.queueSize(0);
    expect(queued).toHaveLength(2);
  });

  it('queues on an edit when idle, and once for edits made while busy (On Change)', () => {
    const { auto, queued } = setup();
    auto.mode = 'change';
    auto.edited();
    expect(queued).toHaveLength(1);
    // Busy now (queued): two more edits wait for the queue to run empty, then queue once.
    auto.edited();
    auto.edited();
    expect(queued).toHaveLength(1);
    auto.queueSize(1);
    auto.queueSize(0);
    expect(queued).toHaveLength(2);
    auto.queueSize(1);
    auto.queueSize(0);
    expect(queued).toHaveLength(2);
  });

  it('stops when a prompt is rejected instead of waiting forever', async () => {
    const { auto, queued, stops } = setup(false);
    auto.mode = 'change';
    auto.edited();
    await Promise.resolve();
    await Promise.resolve();
    expect(queued).toHaveLength(1);
    expect(auto.mode).toBe('once');
    expect(stops).toEqual(['the prompt was not queued']);
  });
});
