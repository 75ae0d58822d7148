/**
 * Node id badges as ComfyUI shows them: `#id` in a small badge over each node's title bar, drawn through litegraph's
 * own badge mechanism (`drawBadges`, skipped at low quality). One switch for the page: every canvas shares litegraph's
 * node class.
 */
import { LGraphBadge, LGraphNode } from '@comfyorg/litegraph';

let showIds = false;
/** One badge per node, rebuilt only when the id changes (drawing runs every frame). */
const badges = new WeakMap<LGraphNode, LGraphBadge>();
let installed = false;

/** Turns the `#id` badges on or off. */
export function setNodeIdBadges(on: boolean): void {
  install();
  showIds = on;
}

export function nodeIdBadgesShown(): boolean {
  return showIds;
}

function idBadge(node: LGraphNode): LGraphBadge {
  const text = `#${node.id}`;
  let badge = badges.get(node);
  if (badge?.text !== text) {
    badge = new LGraphBadge({ text, fgColor: '#d0d0d0', bgColor: '#1b1b1b', fontSize: 11, height: 16, padding: 5, cornerRadius: 4 });
    badges.set(node, badge);
  }
  return badge;
}

function install(): void {
  if (installed) return;
  installed = true;
  const drawBadges = LGraphNode.prototype.drawBadges;
  LGraphNode.prototype.drawBadges = function (this: LGraphNode, ctx, options) {
    if (!showIds || this.id == null || (this.id as number) < 0) return drawBadges.call(this, ctx, options);
    const own = this.badges;
    this.badges = [idBadge(this), ...own];
    try {
      drawBadges.call(this, ctx, options);
    } finally {
      this.badges = own;
    }
  };
}
