import { describe, expect, it } from 'vitest';
import { coerceSetting, GRID_SIZE, LINK_RENDER_MODE, SETTING_DEFINITIONS, ALWAYS_SNAP_TO_GRID } from './settings.ts';

const def = (id: string) => SETTING_DEFINITIONS.find((d) => d.id === id)!;

describe('coerceSetting', () => {
  it('keeps numbers in range, known options and booleans, and falls back to the default otherwise', () => {
    expect(coerceSetting(def(GRID_SIZE), '25')).toBe(25);
    expect(coerceSetting(def(GRID_SIZE), 9999)).toBe(500);
    expect(coerceSetting(def(GRID_SIZE), 'x')).toBe(10);
    expect(coerceSetting(def(LINK_RENDER_MODE), '0')).toBe(0);
    expect(coerceSetting(def(LINK_RENDER_MODE), 7)).toBe(2);
    expect(coerceSetting(def(ALWAYS_SNAP_TO_GRID), true)).toBe(true);
    expect(coerceSetting(def(ALWAYS_SNAP_TO_GRID), 'yes')).toBe(false);
  });
});
