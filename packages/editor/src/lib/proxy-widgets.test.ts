import { describe, expect, it } from 'vitest';
import { proxyWidgetRefs } from './proxy-widgets.ts';

describe('proxyWidgetRefs', () => {
  it('keeps inner node widgets in order and leaves out subgraph inputs (-1)', () => {
    const refs = proxyWidgetRefs([['-1', 'text'], ['20', 'seed'], ['-1', 'width'], ['20', 'control_after_generate']]);
    expect(refs).toEqual([
      { nodePath: ['20'], widgetName: 'seed' },
      { nodePath: ['20'], widgetName: 'control_after_generate' },
    ]);
  });

  it('reads the JSON string older front ends saved, and numeric ids', () => {
    expect(proxyWidgetRefs('[["7","cfg"]]')).toEqual([{ nodePath: ['7'], widgetName: 'cfg' }]);
    expect(proxyWidgetRefs([[7, 'cfg']])).toEqual([{ nodePath: ['7'], widgetName: 'cfg' }]);
  });

  it('follows a:b paths into nested instances and ignores the extra items of newer entries', () => {
    expect(proxyWidgetRefs([['23:6', 'crop', '6'], ['5', 'steps', null, { value: 4 }]])).toEqual([
      { nodePath: ['23', '6'], widgetName: 'crop' },
      { nodePath: ['5'], widgetName: 'steps' },
    ]);
  });

  it('skips image previews and malformed values without throwing', () => {
    expect(proxyWidgetRefs([['9', '$$canvas-image-preview'], ['9'], [null, 'seed'], ['9', ''], [':9', 'seed'], 'x'])).toEqual([]);
    expect(proxyWidgetRefs('not json')).toEqual([]);
    expect(proxyWidgetRefs(undefined)).toEqual([]);
    expect(proxyWidgetRefs({ 0: ['20', 'seed'] })).toEqual([]);
  });
});
