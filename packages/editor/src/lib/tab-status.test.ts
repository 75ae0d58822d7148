import { describe, expect, it } from 'vitest';
import { faviconHref, IDLE_FAVICON, tabTitle } from './tab-status.ts';

describe('tab status', () => {
  it('prefixes the title with the rounded progress while running', () => {
    expect(tabTitle(null)).toBe('USO Studio');
    expect(tabTitle(0.372)).toBe('[37%] USO Studio');
    expect(tabTitle(0)).toBe('[0%] USO Studio');
    expect(tabTitle(1.2)).toBe('[100%] USO Studio');
  });

  it('shows the idle icon when idle and a ring filled by the progress while running', () => {
    expect(faviconHref(null)).toBe(IDLE_FAVICON);
    const dash = (href: string) => Number(/stroke-dasharray="([\d.]+) /.exec(decodeURIComponent(href))![1]);
    expect(faviconHref(0.5)).toMatch(/^data:image\/svg\+xml,/);
    expect(dash(faviconHref(0))).toBe(0);
    expect(dash(faviconHref(0.5))).toBeCloseTo(Math.PI * 13, 1);
    expect(dash(faviconHref(1))).toBeCloseTo(2 * Math.PI * 13, 1);
  });
});
