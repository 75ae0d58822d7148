import { describe, expect, it } from 'vitest';
import { BYPASS_MODE, modeLook, MUTED_MODE } from './node-modes.ts';

describe('modeLook', () => {
  it('fades muted nodes, colours bypassed ones purple and fades them more, leaves active ones alone', () => {
    expect(modeLook(0)).toBeNull();
    const muted = modeLook(MUTED_MODE)!;
    const bypassed = modeLook(BYPASS_MODE)!;
    expect(muted.alpha).toBeLessThan(1);
    expect(muted.bgcolor).toBeNull();
    expect(bypassed.alpha).toBeLessThan(muted.alpha);
    expect(bypassed.bgcolor).toBe('#FF00FF');
  });
});
