import { describe, expect, it } from 'vitest';
import { commandFor, type KeyLike } from './shortcuts.ts';

const key = (k: string, mods: Partial<KeyLike> = {}): KeyLike => ({ key: k, ctrlKey: false, metaKey: false, shiftKey: false, altKey: false, ...mods });

describe('commandFor', () => {
  it('binds ComfyUI\'s shortcuts', () => {
    expect(commandFor(key('Enter', { ctrlKey: true }))).toBe('queue');
    expect(commandFor(key('Enter', { ctrlKey: true, shiftKey: true }))).toBe('queue-front');
    expect(commandFor(key('Enter', { ctrlKey: true, altKey: true }))).toBe('interrupt');
    expect(commandFor(key('Enter', { ctrlKey: true, altKey: true }), true)).toBe('interrupt');
    expect(commandFor(key('s', { ctrlKey: true }))).toBe('save');
    expect(commandFor(key('o', { metaKey: true }))).toBe('open');
    expect(commandFor(key('z', { ctrlKey: true }))).toBe('undo');
    expect(commandFor(key('Z', { ctrlKey: true, shiftKey: true }))).toBe('redo');
    expect(commandFor(key('y', { ctrlKey: true }))).toBe('redo');
    expect(commandFor(key('m', { ctrlKey: true }))).toBe('mute');
    expect(commandFor(key('b', { ctrlKey: true }))).toBe('bypass');
    expect(commandFor(key('r'))).toBe('refresh');
    expect(commandFor(key('.'))).toBe('fit-view');
    expect(commandFor(key('c', { altKey: true }))).toBe('collapse');
    expect(commandFor(key('p'))).toBe('pin');
    expect(commandFor(key('=', { altKey: true }))).toBe('zoom-in');
    expect(commandFor(key('+', { altKey: true, shiftKey: true }))).toBe('zoom-in');
    expect(commandFor(key('-', { altKey: true }))).toBe('zoom-out');
    expect(commandFor(key('p'), true)).toBeNull();
    expect(commandFor(key('c', { altKey: true }), true)).toBeNull();
  });

  it('leaves plain keys and copy/paste to litegraph', () => {
    expect(commandFor(key('m'))).toBeNull();
    expect(commandFor(key('c', { ctrlKey: true }))).toBeNull();
    expect(commandFor(key('Delete'))).toBeNull();
  });

  it('keeps text editing keys for text fields but still queues and saves', () => {
    expect(commandFor(key('z', { ctrlKey: true }), true)).toBeNull();
    expect(commandFor(key('b', { ctrlKey: true }), true)).toBeNull();
    expect(commandFor(key('r'), true)).toBeNull();
    expect(commandFor(key('Enter', { ctrlKey: true }), true)).toBe('queue');
    expect(commandFor(key('s', { ctrlKey: true }), true)).toBe('save');
  });
});
