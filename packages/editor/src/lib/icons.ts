/**
 * The icons the editor draws, as SVG path data on a 24×24 grid, stroked (round caps and joins, width 2). One source
 * for the DOM (the `Icon` component writes an inline `<svg>`) and the canvas (`drawIcon` strokes a `Path2D`), so no
 * icon depends on an icon font or the system's emoji fonts (Debian's Chromium has neither and draws empty boxes).
 */

export const ICONS = {
  /** The node library: two boxes joined by a link. */
  nodes: 'M3 4h8v6H3z M13 14h8v6h-8z M11 7h3a2 2 0 0 1 2 2v5',
  /** The model library: a cube. */
  models: 'M12 2.5l8.5 4.75v9.5L12 21.5l-8.5-4.75v-9.5z M3.5 7.25L12 12l8.5-4.75 M12 12v9.5',
  /** Templates: four tiles. */
  templates: 'M3 3h7v7H3z M14 3h7v7h-7z M3 14h7v7H3z M14 14h7v7h-7z',
  /** Saved workflows: a folder. */
  workflows: 'M3 6.5a1.5 1.5 0 0 1 1.5-1.5h4.5l2 2.5h8.5a1.5 1.5 0 0 1 1.5 1.5v9a1.5 1.5 0 0 1-1.5 1.5h-15a1.5 1.5 0 0 1-1.5-1.5z',
  /** Open a subgraph: a window with an arrow going in. */
  'open-subgraph': 'M13 4h7v7 M20 4l-8.5 8.5 M18 14.5v4a1.5 1.5 0 0 1-1.5 1.5h-11A1.5 1.5 0 0 1 4 18.5v-11A1.5 1.5 0 0 1 5.5 6h4',
  /** Convert to a subgraph: a box inside a box. */
  subgraph: 'M3 3h18v18H3z M8 8h8v8H8z',
  /** A node type the server lacks: a warning triangle. */
  missing: 'M12 3.5l9.5 16.5h-19z M12 10v4.5 M12 17.5v0.01',
  /** A pinned node or group. */
  pin: 'M9 3h6 M10 3v6l-3 4h10l-3-4V3 M12 13v8',
  /** The minimap. */
  minimap: 'M3 6l6-3 6 3 6-3v15l-6 3-6-3-6 3z M9 3v15 M15 6v15',
  /** Node id badges. */
  hash: 'M5 9h15 M4 15h15 M10.5 3.5L8.5 20.5 M15.5 3.5l-2 17',
  search: 'M10.5 4a6.5 6.5 0 1 0 0.01 0z M15.5 15.5L21 21',
  close: 'M6 6l12 12 M18 6L6 18',
  /** Fit the view: four corners. */
  fit: 'M4 9V4h5 M15 4h5v5 M20 15v5h-5 M9 20H4v-5',
  refresh: 'M20 11a8 8 0 1 0-2.3 5.7 M20 4v7h-7',
  chevron: 'M9 6l6 6-6 6',
  undo: 'M9 14L4 9l5-5 M4 9h10.5a5.5 5.5 0 0 1 0 11H11',
  redo: 'M15 14l5-5-5-5 M20 9H9.5a5.5 5.5 0 0 0 0 11H13',
} as const;

export type IconName = keyof typeof ICONS;

const paths = new Map<IconName, Path2D>();

/**
 * Strokes icon `name` on a canvas with its top-left corner at (x, y), `size` units square, in `color`. The context's
 * state is restored afterwards.
 */
export function drawIcon(ctx: CanvasRenderingContext2D, name: IconName, x: number, y: number, size: number, color: string): void {
  let path = paths.get(name);
  if (!path) {
    path = new Path2D(ICONS[name]);
    paths.set(name, path);
  }
  ctx.save();
  ctx.translate(x, y);
  ctx.scale(size / 24, size / 24);
  ctx.strokeStyle = color;
  ctx.lineWidth = 2;
  ctx.lineCap = 'round';
  ctx.lineJoin = 'round';
  ctx.stroke(path);
  ctx.restore();
}

/** An icon as inline SVG markup (for places that take HTML, such as litegraph's context menu entries). */
export function iconSvg(name: IconName, size = 14): string {
  return `<svg class="icon" width="${size}" height="${size}" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true"><path d="${ICONS[name]}"/></svg>`;
}
