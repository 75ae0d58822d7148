import { describe, expect, it } from 'vitest';
import { UndoHistory } from './undo-history.ts';

describe('UndoHistory', () => {
  it('undoes and redoes recorded states', () => {
    const h = new UndoHistory();
    h.reset('a');
    expect(h.record('b')).toBe(true);
    expect(h.record('b')).toBe(false);
    h.record('c');
    expect(h.undo()).toBe('b');
    expect(h.undo()).toBe('a');
    expect(h.undo()).toBeUndefined();
    expect(h.redo()).toBe('b');
    expect(h.redo()).toBe('c');
    expect(h.redo()).toBeUndefined();
  });

  it('drops the redo branch on a new edit and caps its length', () => {
    const h = new UndoHistory(2);
    h.reset('a');
    h.record('b');
    h.record('c');
    h.record('d');
    expect(h.undo()).toBe('c');
    expect(h.undo()).toBe('b');
    expect(h.canUndo).toBe(false);
    h.record('x');
    expect(h.canRedo).toBe(false);
  });
});
