import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { graphThumbnail } from './graph-thumbnail.ts';

describe('graphThumbnail', () => {
  it('scales two linked nodes into the box, centred, with the link from output to input', () => {
    const wf = {
      nodes: [{ id: 1, pos: [0, 30], size: [100, 70] }, { id: 2, pos: [300, 30], size: [100, 170], bgcolor: '#533' }],
      links: [[1, 1, 0, 2, 0, 'MODEL']],
    };
    // Bounds 400×200 (title bars included) into 200×200: scale 0.5, centred vertically (50 above and below).
    const t = graphThumbnail(wf, 200, 200);
    expect(t.nodes).toEqual([
      { x: 0, y: 50, w: 50, h: 50, color: '#353535' },
      { x: 150, y: 50, w: 50, h: 100, color: '#533' },
    ]);
    expect(t.links).toEqual([{ x1: 50, y1: 70, x2: 150, y2: 70, color: '#B39DDB' }]);
  });

  it('draws a shipped template: every node and group inside the box, links between known nodes', () => {
    const wf = JSON.parse(readFileSync(join(__dirname, '../../../../workflows/uso-style-subject.json'), 'utf8')) as { nodes: unknown[]; links: unknown[]; groups: unknown[] };
    const t = graphThumbnail(wf, 240, 135);
    expect(t.nodes).toHaveLength(wf.nodes.length);
    expect(t.groups).toHaveLength(wf.groups.length);
    expect(t.links).toHaveLength(wf.links.length);
    for (const b of [...t.nodes, ...t.groups]) {
      expect(b.x).toBeGreaterThanOrEqual(-1e-6);
      expect(b.y).toBeGreaterThanOrEqual(-1e-6);
      expect(b.x + b.w).toBeLessThanOrEqual(240 + 1e-6);
      expect(b.y + b.h).toBeLessThanOrEqual(135 + 1e-6);
    }
  });

  it('gives no shapes for an empty or malformed workflow, and skips links to missing nodes', () => {
    expect(graphThumbnail({}, 10, 10)).toEqual({ groups: [], nodes: [], links: [] });
    expect(graphThumbnail(null, 10, 10)).toEqual({ groups: [], nodes: [], links: [] });
    expect(graphThumbnail({ nodes: [{ id: 1, pos: [0, 0], size: [10, 10] }], links: [[1, 1, 0, 9, 0, 'X']] }, 10, 10).links).toEqual([]);
  });
});
