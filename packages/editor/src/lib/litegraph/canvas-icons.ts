/**
 * The icons litegraph draws, drawn as paths instead. litegraph writes them as characters: the subgraph node's "open"
 * button in the PrimeIcons font, `❌` before a node of a missing type, `📌` after a pinned node's or group's title,
 * `🆕` in the "Convert to Subgraph" menu entry. Debian's Chromium has neither that font nor an emoji font, so each
 * showed as an empty box. Here litegraph draws the text without them and the icons come from lib/icons.ts.
 */
import { LGraphCanvas, LGraphGroup, LGraphNode, LiteGraph } from '@comfyorg/litegraph';
import { drawIcon, iconSvg, type IconName } from '../icons.ts';

/** litegraph's name for the subgraph node's title button that opens it. */
const ENTER_SUBGRAPH_BUTTON = 'enter_subgraph';
const TITLE_ICON_SIZE = 14;
const MISSING_COLOR = '#f5a623';
const PIN_COLOR = '#ddd';
/** Emoji and the variation selector that asks for their colour form. */
const EMOJI = /\s*\p{Extended_Pictographic}\uFE0F?/gu;
const HAS_EMOJI = /\p{Extended_Pictographic}/u;
/** Menu entries that get an icon in front of their label. */
const MENU_ICONS: Record<string, IconName> = { 'Convert to Subgraph': 'subgraph' };

interface TitleButton {
  name?: string;
  height: number;
  xOffset: number;
  yOffset: number;
  _last_area: Float64Array | number[];
  getWidth(ctx: CanvasRenderingContext2D): number;
  draw(ctx: CanvasRenderingContext2D, x: number, y: number): void;
}

let installed = false;

/** Installs the drawn icons on litegraph's classes (once per page; every canvas shares them). */
export function installCanvasIcons(): void {
  if (installed) return;
  installed = true;
  drawSubgraphButton();
  drawNodeTitleIcons();
  drawGroupPin();
  cleanMenus();
}

/** The subgraph node's "open" button: the open-subgraph icon, clickable where it is drawn. */
function drawSubgraphButton(): void {
  const addTitleButton = LGraphNode.prototype.addTitleButton;
  LGraphNode.prototype.addTitleButton = function (this: LGraphNode, options) {
    const button = addTitleButton.call(this, options) as unknown as TitleButton;
    if (button.name !== ENTER_SUBGRAPH_BUTTON) return button as never;
    const size = 16;
    button.getWidth = () => size;
    button.draw = function (this: TitleButton, ctx, x, y) {
      const left = x + this.xOffset;
      const top = y + this.yOffset;
      // Hit testing reads the last drawn area.
      this._last_area[0] = left;
      this._last_area[1] = top;
      this._last_area[2] = size;
      this._last_area[3] = this.height;
      drawIcon(ctx, 'open-subgraph', left, top + (this.height - size) / 2, size, String(ctx.fillStyle || '#ddd'));
    };
    return button as never;
  };
}

type DrawTitleText = (this: LGraphNode, ctx: CanvasRenderingContext2D, options: { low_quality?: boolean; title_height?: number; scale: number; default_title_color: string }) => void;

/**
 * Node titles: a missing node type shows its type after a warning icon (litegraph writes `❌ type`), a pinned node a
 * pin after its title (litegraph appends `📌`).
 */
function drawNodeTitleIcons(): void {
  const proto = LGraphNode.prototype as unknown as { drawTitleText: DrawTitleText };
  const drawTitleText = proto.drawTitleText;
  proto.drawTitleText = function (ctx, options) {
    const pinned = !!this.flags.pinned;
    const missing = this.getTitle() == null;
    if (!pinned && !missing) return drawTitleText.call(this, ctx, options);
    const title = this.title;
    // Drawn without the characters; the flag and the title are put back before anything else can read them.
    this.flags.pinned = false;
    if (missing) this.title = `${this.type}`;
    try {
      drawTitleText.call(this, ctx, options);
      if (options.low_quality || this.collapsed) return;
      const height = options.title_height ?? LiteGraph.NODE_TITLE_HEIGHT;
      const top = -height + (height - TITLE_ICON_SIZE) / 2;
      ctx.font = this.titleFontStyle;
      let x = height + Math.min(ctx.measureText(this.title).width, this.size[0] - height * 2) + 6;
      if (missing) {
        drawIcon(ctx, 'missing', x, top, TITLE_ICON_SIZE, MISSING_COLOR);
        x += TITLE_ICON_SIZE + 4;
      }
      if (pinned) drawIcon(ctx, 'pin', x, top, TITLE_ICON_SIZE, PIN_COLOR);
    } finally {
      this.flags.pinned = pinned;
      this.title = title;
    }
  };
}

/** A pinned group: a pin after its title (litegraph appends `📌`). */
function drawGroupPin(): void {
  const draw = LGraphGroup.prototype.draw;
  LGraphGroup.prototype.draw = function (this: LGraphGroup, canvas, ctx) {
    if (!this.flags.pinned) return draw.call(this, canvas, ctx);
    delete this.flags.pinned;
    try {
      draw.call(this, canvas, ctx);
    } finally {
      this.flags.pinned = true;
    }
    const fontSize = this.font_size || LiteGraph.DEFAULT_GROUP_FONT_SIZE;
    ctx.font = `${fontSize}px ${LiteGraph.GROUP_FONT}`;
    const x = this.pos[0] + LGraphGroup.padding + ctx.measureText(this.title).width + 6;
    drawIcon(ctx, 'pin', x, this.pos[1] + (fontSize * 1.4 - fontSize) / 2, fontSize, PIN_COLOR);
  };
}

type MenuOption = { content?: string; title?: string } | null | undefined;

/** Menu entries: emoji removed from labels, and an inline SVG icon in front of the ones in MENU_ICONS. */
function cleanMenus(): void {
  const clean = (options: MenuOption[]) => {
    for (const option of options) {
      if (!option || typeof option.content !== 'string' || !HAS_EMOJI.test(option.content)) continue;
      const label = option.content.replace(EMOJI, '').trim();
      const icon = MENU_ICONS[label];
      option.content = icon ? `${iconSvg(icon)} ${label}` : label;
    }
    return options;
  };
  const proto = LGraphCanvas.prototype as unknown as Record<'getCanvasMenuOptions' | 'getNodeMenuOptions', (...args: unknown[]) => MenuOption[]>;
  for (const name of ['getCanvasMenuOptions', 'getNodeMenuOptions'] as const) {
    const original = proto[name];
    proto[name] = function (this: LGraphCanvas, ...args: unknown[]) {
      return clean(original.apply(this, args));
    };
  }
}
