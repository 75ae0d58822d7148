import { describe, expect, it } from 'vitest';
import type { ExecutionEvent } from '@uso-studio/core';
import { createEventPrinter } from './progress-printer.ts';

const events: ExecutionEvent[] = [
  { type: 'execution_start', data: { prompt_id: 'p', timestamp: 1 } },
  { type: 'execution_cached', data: { nodes: ['1'], prompt_id: 'p', timestamp: 1 } },
  { type: 'executing', data: { node: '3', display_node: '3', prompt_id: 'p' } },
  { type: 'progress', data: { value: 1, max: 2, prompt_id: 'p', node: '3' } },
  { type: 'progress', data: { value: 2, max: 2, prompt_id: 'p', node: '3' } },
  { type: 'executing', data: { node: null, prompt_id: 'p' } },
];

function render(mode: 'tty' | 'json' | 'plain'): string {
  let out = '';
  const printer = createEventPrinter(mode, (t) => (out += t), (id) => (id === '3' ? 'KSampler' : ''));
  for (const e of events) printer.onEvent(e);
  printer.finish();
  return out;
}

describe('event printer', () => {
  it('draws a redrawn progress bar per node on a TTY', () => {
    const out = render('tty');
    expect(out).toContain('▶ 3 KSampler');
    expect(out).toContain('cached: 1 node(s) reused');
    expect(out).toMatch(/\r {2}3 \[█{14}░{14}\] 1\/2/);
    expect(out).toMatch(/\r {2}3 \[█{28}\] 2\/2\n/);
  });

  it('prints one JSON object per line with --json', () => {
    const lines = render('json').trim().split('\n');
    expect(lines).toHaveLength(events.length);
    expect(lines.map((l) => (JSON.parse(l) as { type: string }).type)).toEqual(events.map((e) => e.type));
  });

  it('prints only completed progress without a TTY', () => {
    const out = render('plain');
    expect(out).not.toContain('\r');
    expect(out).toContain('  3: 2/2\n');
    expect(out).not.toContain('1/2');
  });
});
