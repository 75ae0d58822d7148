/**
 * A workflow drawn small, for the template browser's cards: its root graph's groups, nodes and links as shapes in a
 * `width`×`height` box (the graph's bounds scaled to fit, centred, aspect kept). Plain data; the card renders it as
 * SVG, so no thumbnail image has to be made or shipped per template.
 */
import { slotColor } from './slot-colors.ts';

export interface ThumbnailBox { x: number; y: number; w: number; h: number; color: string }
export interface ThumbnailLink { x1: number; y1: number; x2: number; y2: number; color: string }
export interface Thumbnail { groups: ThumbnailBox[]; nodes: ThumbnailBox[]; links: ThumbnailLink[] }

interface WorkflowShape {
  nodes?: { id: number | string; pos?: unknown; size?: unknown; color?: string; bgcolor?: string; flags?: { collapsed?: boolean } }[];
  links?: unknown[];
  groups?: { bounding?: unknown; color?: string }[];
}

/** litegraph's title bar height and slot spacing, in graph units: where a link leaves and enters a node. */
const TITLE_HEIGHT = 30;
const SLOT_HEIGHT = 20;
const NODE_COLOR = '#353535';
const GROUP_COLOR = '#3f789e';
const LINK_COLOR = '#9a9';

function pair(v: unknown, fallback: [number, number]): [number, number] {
  if (Array.isArray(v) && typeof v[0] === 'number' && typeof v[1] === 'number') return [v[0], v[1]];
  if (v && typeof v === 'object' && '0' in v && '1' in v) return [Number((v as Record<string, unknown>)[0]), Number((v as Record<string, unknown>)[1])];
  return fallback;
}

/** Lays a UI workflow out in a `width`×`height` box; an empty or malformed workflow gives no shapes. */
export function graphThumbnail(workflow: unknown, width: number, height: number): Thumbnail {
  const wf = (workflow ?? {}) as WorkflowShape;
  const nodes = (Array.isArray(wf.nodes) ? wf.nodes : []).map((n) => {
    const [x, y] = pair(n.pos, [0, 0]);
    const [w, h] = n.flags?.collapsed ? [120, 0] : pair(n.size, [200, 100]);
    // Boxes include the title bar, which litegraph draws above pos.
    return { id: n.id, x, y: y - TITLE_HEIGHT, w, h: h + TITLE_HEIGHT, color: n.bgcolor ?? n.color ?? NODE_COLOR };
  });
  const groups = (Array.isArray(wf.groups) ? wf.groups : []).flatMap((g) => {
    const b = Array.isArray(g.bounding) ? g.bounding.map(Number) : [];
    return b.length === 4 && b.every(Number.isFinite) ? [{ x: b[0]!, y: b[1]!, w: b[2]!, h: b[3]!, color: g.color ?? GROUP_COLOR }] : [];
  });
  const all = [...nodes, ...groups];
  if (!all.length) return { groups: [], nodes: [], links: [] };
  const x0 = Math.min(...all.map((b) => b.x));
  const y0 = Math.min(...all.map((b) => b.y));
  const x1 = Math.max(...all.map((b) => b.x + b.w));
  const y1 = Math.max(...all.map((b) => b.y + b.h));
  const scale = Math.min(width / Math.max(1, x1 - x0), height / Math.max(1, y1 - y0));
  const dx = (width - (x1 - x0) * scale) / 2;
  const dy = (height - (y1 - y0) * scale) / 2;
  const place = (b: { x: number; y: number; w: number; h: number; color: string }): ThumbnailBox => ({
    x: dx + (b.x - x0) * scale, y: dy + (b.y - y0) * scale, w: b.w * scale, h: b.h * scale, color: b.color,
  });
  const byId = new Map(nodes.map((n) => [String(n.id), n]));
  const links: ThumbnailLink[] = [];
  for (const raw of Array.isArray(wf.links) ? wf.links : []) {
    // Links are [id, origin, originSlot, target, targetSlot, type] in UI JSON, or objects in newer files.
    const l = Array.isArray(raw) ? { origin_id: raw[1], origin_slot: raw[2], target_id: raw[3], target_slot: raw[4], type: raw[5] } : (raw as Record<string, unknown>);
    const from = byId.get(String(l.origin_id));
    const to = byId.get(String(l.target_id));
    if (!from || !to) continue;
    const slotY = (node: { y: number }, slot: unknown) => node.y + TITLE_HEIGHT + (Number(slot) || 0) * SLOT_HEIGHT + SLOT_HEIGHT / 2;
    links.push({
      x1: dx + (from.x + from.w - x0) * scale, y1: dy + (slotY(from, l.origin_slot) - y0) * scale,
      x2: dx + (to.x - x0) * scale, y2: dy + (slotY(to, l.target_slot) - y0) * scale,
      color: slotColor(String(l.type ?? '')) ?? LINK_COLOR,
    });
  }
  return { groups: groups.map(place), nodes: nodes.map(place), links };
}
