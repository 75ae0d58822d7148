import { describe, expect, it } from 'vitest';
import { slotColor, typesMatch } from './slot-colors.ts';

describe('slot colours and type matching', () => {
  it('colours known types case-insensitively and unions by their first member', () => {
    expect(slotColor('IMAGE')).toBe(slotColor('image'));
    expect(slotColor('IMAGE,MASK')).toBe(slotColor('IMAGE'));
    expect(slotColor('SOMETHING_NEW')).toBeUndefined();
  });

  it('matches types the way ComfyUI does', () => {
    expect(typesMatch('IMAGE', 'IMAGE')).toBe(true);
    expect(typesMatch('image', 'IMAGE')).toBe(true);
    expect(typesMatch('IMAGE', 'MODEL')).toBe(false);
    expect(typesMatch('*', 'MODEL')).toBe(true);
    expect(typesMatch('IMAGE', 'MASK,IMAGE')).toBe(true);
    expect(typesMatch('LATENT', 'MASK,IMAGE')).toBe(false);
  });
});
