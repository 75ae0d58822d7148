import { describe, expect, it } from 'vitest';
import { comboLabel, comboOf, Keymap, type KeyLike } from './shortcuts.ts';

const key = (k: string, mods: Partial<KeyLike> = {}): KeyLike => ({ key: k, ctrlKey: false, metaKey: false, shiftKey: false, altKey: false, ...mods });
const keymap = new Keymap();
const commandFor = (e: KeyLike, inText = false) => keymap.commandFor(e, inText);

describe('Keymap', () => {
  it('binds ComfyUI\'s shortcuts', () => {
    expect(commandFor(key('Enter', { ctrlKey: true }))).toBe('queue');
    expect(commandFor(key('Enter', { ctrlKey: true, shiftKey: true }))).toBe('queue-front');
    expect(commandFor(key('Enter', { ctrlKey: true, altKey: true }))).toBe('interrupt');
    expect(commandFor(key('Enter', { ctrlKey: true, altKey: true }), true)).toBe('interrupt');
    expect(commandFor(key('s', { ctrlKey: true }))).toBe('save');
    expect(commandFor(key('S', { ctrlKey: true, shiftKey: true }))).toBe('export-api');
    expect(commandFor(key('o', { metaKey: true }))).toBe('open');
    expect(commandFor(key(',', { ctrlKey: true }))).toBe('settings');
    expect(commandFor(key('z', { ctrlKey: true }))).toBe('undo');
    expect(commandFor(key('Z', { ctrlKey: true, shiftKey: true }))).toBe('redo');
    expect(commandFor(key('y', { ctrlKey: true }))).toBe('redo');
    expect(commandFor(key('m', { ctrlKey: true }))).toBe('mute');
    expect(commandFor(key('b', { ctrlKey: true }))).toBe('bypass');
    expect(commandFor(key('r'))).toBe('refresh');
    expect(commandFor(key('w'))).toBe('toggle-workflows');
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
    expect(commandFor(key('Control', { ctrlKey: true }))).toBeNull();
  });

  it('keeps text editing keys for text fields but still queues and saves', () => {
    expect(commandFor(key('z', { ctrlKey: true }), true)).toBeNull();
    expect(commandFor(key('b', { ctrlKey: true }), true)).toBeNull();
    expect(commandFor(key('r'), true)).toBeNull();
    expect(commandFor(key('Enter', { ctrlKey: true }), true)).toBe('queue');
    expect(commandFor(key('s', { ctrlKey: true }), true)).toBe('save');
  });

  it('rebinds a command alone on a combo, as ComfyUI\'s settings keep it, and resets it', () => {
    const { added, unset } = keymap.rebind('fit-view', comboOf(key('r', { altKey: true }))!);
    expect(added).toEqual([{ commandId: 'Comfy.Canvas.FitView', combo: { key: 'r', alt: true } }]);
    expect(unset).toEqual([{ commandId: 'Comfy.Canvas.FitView', combo: { key: '.' } }]);
    const mine = new Keymap(added, unset);
    expect(mine.commandFor(key('r', { altKey: true }))).toBe('fit-view');
    expect(mine.commandFor(key('.'))).toBeNull();
    expect(mine.combosOf('fit-view').map(comboLabel)).toEqual(['Alt+R']);
    // Taking another command's combo takes it away from that command.
    const taken = mine.rebind('pin', { key: 'r' });
    const after = new Keymap(taken.added, taken.unset);
    expect(after.commandFor(key('r'))).toBe('pin');
    expect(after.combosOf('refresh')).toEqual([]);
    const back = after.reset('refresh');
    expect(new Keymap(back.added, back.unset).combosOf('refresh')).toEqual([]);
    const reset = new Keymap(back.added, back.unset).reset('pin');
    const restored = new Keymap(reset.added, reset.unset);
    expect(restored.commandFor(key('p'))).toBe('pin');
    // Bad entries in settings.json are skipped.
    expect(new Keymap([{ nope: 1 }, 'x'], null).bindings.length).toBe(keymap.bindings.length);
  });
});
