import { describe, expect, it } from 'vitest';
import { Dialogs, type DialogRequest } from './dialogs.ts';

describe('Dialogs', () => {
  it('shows one question at a time and resolves each with its answer', async () => {
    const shown: (DialogRequest | null)[] = [];
    const dialogs = new Dialogs((r) => shown.push(r));
    const first = dialogs.ask({ title: 'A', message: 'a?', buttons: [{ label: 'Yes', value: 'yes' }] });
    const second = dialogs.ask({ title: 'B', message: 'b?', buttons: [], input: { label: 'Name', value: 'x' } });
    expect(shown.map((r) => r?.title)).toEqual(['A']);
    dialogs.answer('yes');
    expect(await first).toEqual({ choice: 'yes', text: '' });
    expect(shown.map((r) => r?.title)).toEqual(['A', 'B']);
    dialogs.answer(null);
    // Dismissed: no choice; the field keeps its starting value.
    expect(await second).toEqual({ choice: null, text: 'x' });
    expect(shown.at(-1)).toBeNull();
    expect(dialogs.open).toBe(false);
  });
});
