import { describe, expect, it } from 'vitest';
import { historyOutcome } from './history-outcome.ts';

describe('historyOutcome', () => {
  it('tells an interrupted run from a failed one', () => {
    expect(historyOutcome({ status: { status_str: 'error', completed: false, messages: [['execution_start', {}], ['execution_interrupted', {}]] } })).toBe('interrupted');
    expect(historyOutcome({ status: { status_str: 'error', completed: false, messages: [['execution_error', {}]] } })).toBe('error');
    expect(historyOutcome({ status: { status_str: 'success', completed: true, messages: [] } })).toBe('success');
    expect(historyOutcome({ status: undefined as never })).toBe('unknown');
  });
});
