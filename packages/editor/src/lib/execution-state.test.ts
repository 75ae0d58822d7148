import { describe, expect, it } from 'vitest';
import { GALLERY_LIMIT, initialExecutionState, overallProgress, reduceExecution, type ExecutionState } from './execution-state.ts';

const run = (msgs: [string, Record<string, unknown>][], totals = new Map([['p1', 4]])): ExecutionState =>
  msgs.reduce((s, [type, data]) => reduceExecution(s, { type, data }, totals), initialExecutionState());

describe('reduceExecution', () => {
  it('follows a prompt from start to success with per-node and overall progress', () => {
    let s = run([
      ['execution_start', { prompt_id: 'p1' }],
      ['execution_cached', { nodes: ['1'], prompt_id: 'p1' }],
      ['executing', { node: '2', prompt_id: 'p1' }],
      ['executing', { node: '3', prompt_id: 'p1' }],
      ['progress', { value: 5, max: 10, node: '3', prompt_id: 'p1' }],
    ]);
    expect(s.promptId).toBe('p1');
    expect(s.runningNode).toBe('3');
    expect(s.doneNodes).toEqual(['1', '2']);
    expect(s.nodeProgress['3']).toEqual({ value: 5, max: 10 });
    // Node 1 came from the cache: of the three that run, one is done and one half done.
    expect(overallProgress(s)).toBeCloseTo((1 + 0.5) / 3);
    s = reduceExecution(s, { type: 'executed', data: { node: '4', display_node: '4', output: { images: [{ filename: 'a.png', subfolder: '', type: 'output' }] }, prompt_id: 'p1' } });
    s = reduceExecution(s, { type: 'execution_success', data: { prompt_id: 'p1' } });
    s = reduceExecution(s, { type: 'executing', data: { node: null, prompt_id: 'p1' } });
    expect(s.promptId).toBeNull();
    expect(s.runningNode).toBeNull();
    expect(s.outputs['4']).toHaveLength(1);
    expect(s.gallery[0]).toMatchObject({ promptId: 'p1', nodeId: '4', image: { filename: 'a.png' } });
    expect(s.lastFinished).toEqual({ promptId: 'p1', status: 'success' });
    expect(overallProgress(s)).toBe(0);
  });

  it('measures a mostly cached run by the work left, not by the cached share (issue 13: 84% at step 34/1500)', () => {
    const cached = Array.from({ length: 21 }, (_, i) => String(i + 1));
    const s = run([
      ['execution_start', { prompt_id: 'p1' }],
      ['execution_cached', { nodes: cached, prompt_id: 'p1' }],
      ['executing', { node: '22', prompt_id: 'p1' }],
      ['progress', { value: 34, max: 1500, node: '22', prompt_id: 'p1' }],
    ], new Map([['p1', 25]]));
    expect(overallProgress(s)).toBeCloseTo((34 / 1500) / 4);
  });

  it('records a runtime error with its node and message', () => {
    const s = run([
      ['execution_start', { prompt_id: 'p1' }],
      ['executing', { node: '7', prompt_id: 'p1' }],
      ['execution_error', { prompt_id: 'p1', node_id: '7', node_type: 'KSampler', exception_message: 'out of memory', exception_type: 'RuntimeError' }],
      ['executing', { node: null, prompt_id: 'p1' }],
    ]);
    expect(s.error).toEqual({ promptId: 'p1', nodeId: '7', nodeType: 'KSampler', message: 'out of memory', type: 'RuntimeError' });
    expect(s.lastFinished).toEqual({ promptId: 'p1', status: 'error' });
  });

  it('reads queue size from status and progress_state', () => {
    let s = run([['status', { status: { exec_info: { queue_remaining: 3 } } }]]);
    expect(s.queueRemaining).toBe(3);
    s = reduceExecution(s, { type: 'progress_state', data: { prompt_id: 'p', nodes: { a: { value: 1, max: 2, state: 'running' }, b: { value: 1, max: 1, state: 'finished' } } } });
    expect(s.nodeProgress.a).toEqual({ value: 1, max: 2 });
    expect(s.doneNodes).toEqual(['b']);
  });

  it('keeps the gallery newest first and bounded', () => {
    let s = initialExecutionState();
    for (let i = 0; i < GALLERY_LIMIT + 5; i++) {
      s = reduceExecution(s, { type: 'executed', data: { node: '9', output: { images: [{ filename: `${i}.png`, subfolder: '', type: 'output' }] }, prompt_id: 'p' } });
    }
    expect(s.gallery).toHaveLength(GALLERY_LIMIT);
    expect(s.gallery[0]!.image.filename).toBe(`${GALLERY_LIMIT + 4}.png`);
  });

  it('leaves state alone for unknown messages and outputs without images', () => {
    const s0 = initialExecutionState();
    expect(reduceExecution(s0, { type: 'crystools.monitor', data: {} })).toBe(s0);
    expect(reduceExecution(s0, { type: 'executed', data: { node: '1', output: { text: ['hi'] } } })).toBe(s0);
  });
});
