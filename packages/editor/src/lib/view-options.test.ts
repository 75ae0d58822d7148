import { describe, expect, it } from 'vitest';
import { SETTING_DEFINITIONS } from './settings.ts';
import { settingsForViewOptions, viewOptionsFromSettings } from './view-options.ts';

describe('view options', () => {
  it("read ComfyUI's setting ids, with the settings' defaults giving both off", () => {
    const defaults = Object.fromEntries(SETTING_DEFINITIONS.map((d) => [d.id, d.default]));
    expect(viewOptionsFromSettings((id) => defaults[id])).toEqual({ minimap: false, nodeIdBadges: false });
    const saved: Record<string, unknown> = { 'Comfy.Minimap.Visible': true, 'Comfy.NodeBadge.NodeIdBadgeMode': 'Show all' };
    expect(viewOptionsFromSettings((id) => saved[id])).toEqual({ minimap: true, nodeIdBadges: true });
    expect(viewOptionsFromSettings((id) => ({ 'Comfy.NodeBadge.NodeIdBadgeMode': 'Hide built-in' } as Record<string, unknown>)[id]).nodeIdBadges).toBe(false);
  });

  it('turn a change into the settings to store, and back', () => {
    expect(settingsForViewOptions({ minimap: true })).toEqual([['Comfy.Minimap.Visible', true]]);
    const both = settingsForViewOptions({ minimap: false, nodeIdBadges: true });
    expect(both).toEqual([['Comfy.Minimap.Visible', false], ['Comfy.NodeBadge.NodeIdBadgeMode', 'Show all']]);
    const stored = Object.fromEntries(both);
    expect(viewOptionsFromSettings((id) => stored[id])).toEqual({ minimap: false, nodeIdBadges: true });
    expect(settingsForViewOptions({})).toEqual([]);
  });
});
