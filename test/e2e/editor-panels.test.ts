/**
 * End-to-end tests of the editor's panels and canvas tools (issue 13) in Debian's Chromium against a real USO Studio
 * server process with the demo models (`uso-studio models demo`): the left sidebar and its node library. Screenshots
 * go to test/e2e/screenshots (names starting `p`).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  REPO_ROOT, buildEditor, launchChromium, startServerProcess, waitForEditor,
  type Browser, type Page, type ServerProcess,
} from '../../packages/editor/test-support/browser.ts';

// Functions handed to page.evaluate run in the browser; the repository's type check has no DOM library.
declare const window: any;

const SHOTS = join(REPO_ROOT, 'test/e2e/screenshots');
mkdirSync(SHOTS, { recursive: true });

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`) });
}

/** Empties the canvas and sets the view to scale 1 with the graph origin at the canvas's top-left corner. */
async function freshCanvas(page: Page): Promise<void> {
  await page.evaluate(() => {
    const { editor } = window.usoEditor;
    editor.clear();
    editor.canvas.ds.scale = 1;
    editor.canvas.ds.offset[0] = 0;
    editor.canvas.ds.offset[1] = 0;
  });
}

/** The nodes of the shown graph: id, type, position and widget values. */
const nodesIn = (page: Page) => page.evaluate(() => window.usoEditor.editor.graph.nodes.map((n: any) => ({
  id: n.id, type: n.type, pos: [n.pos[0], n.pos[1]], widgets: (n.widgets ?? []).map((w: any) => [w.name, w.value]),
}))) as Promise<{ id: number; type: string; pos: [number, number]; widgets: [string, unknown][] }[]>;

/** The canvas's page rectangle. */
const canvasBox = async (page: Page) => (await page.locator('[data-testid="graph-canvas"]').boundingBox())!;

/** Turns a page position into graph coordinates with the editor's own conversion. */
const toGraph = (page: Page, x: number, y: number) => page.evaluate(([px, py]) => window.usoEditor.editor.toGraphPos(px, py), [x, y]) as Promise<[number, number]>;

describe('panels and canvas tools, against a real server with the demo models', () => {
  let server: ServerProcess;
  let browser: Browser;
  let page: Page;
  let dataDir: string;

  beforeAll(async () => {
    buildEditor();
    dataDir = mkdtempSync(join(tmpdir(), 'uso-e2e-panels-'));
    execFileSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'packages/cli/src/main.ts'), 'models', 'demo', '--data', dataDir], { cwd: REPO_ROOT, stdio: 'pipe', timeout: 600_000 });
    server = await startServerProcess({ dataDir });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1600, height: 900 } });
    await page.goto(server.url);
    await waitForEditor(page);
  }, 900_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('opens and closes sidebar tabs from the icon bar, and the canvas makes room for the panel', async () => {
    const widthClosed = (await canvasBox(page)).width;
    const tabs = await page.locator('[data-testid^="sidebar-tab-"]').evaluateAll((els) => els.map((e) => (e as any).dataset.testid));
    expect(tabs).toContain('sidebar-tab-nodes');
    // Every tab icon is drawn (an inline SVG path), not a font glyph.
    const icons = await page.locator('[data-testid^="sidebar-tab-"] svg path').count();
    expect(icons).toBe(tabs.length);
    await page.click('[data-testid="sidebar-tab-nodes"]');
    await page.waitForSelector('[data-testid="sidebar-panel-nodes"]');
    await page.waitForFunction((w) => window.usoEditor.editor.canvas.canvas.getBoundingClientRect().width < w - 250, widthClosed);
    await shot(page, 'p01-sidebar-nodes');
    await page.click('[data-testid="sidebar-tab-nodes"]');
    await page.waitForSelector('[data-testid="sidebar-panel-nodes"]', { state: 'detached' });
    await page.waitForFunction((w) => window.usoEditor.editor.canvas.canvas.getBoundingClientRect().width === w, widthClosed);
  });

  it('lists node classes by their /object_info category, searches them, and adds one by click and by drag', async () => {
    await freshCanvas(page);
    await page.click('[data-testid="sidebar-tab-nodes"]');
    const categories = await page.locator('[data-testid="library-category"]').evaluateAll((els) => els.map((e) => (e as any).dataset.path));
    const info = await (await fetch(`${server.url}/api/object_info`)).json() as Record<string, { category: string }>;
    const topLevel = [...new Set(Object.values(info).map((e) => e.category.split('/')[0]!))];
    for (const name of topLevel) expect(categories).toContain(name);
    await page.click('[data-testid="library-category"][data-path="sampling"]');
    await page.waitForSelector('[data-testid="library-node"][data-type="KSampler"]');
    await shot(page, 'p02-node-library-tree');

    // Click: the node lands at the view's centre.
    await page.click('[data-testid="library-node"][data-type="KSampler"]');
    const box = await canvasBox(page);
    const centre = await toGraph(page, box.x + box.width / 2, box.y + box.height / 2);
    let nodes = await nodesIn(page);
    expect(nodes.map((n) => n.type)).toEqual(['KSampler']);
    expect(nodes[0]!.pos[0]).toBeCloseTo(centre[0], 0);
    expect(nodes[0]!.pos[1]).toBeCloseTo(centre[1], 0);

    // Search, then drag the best hit onto the canvas: it lands where it was dropped.
    await page.fill('[data-testid="node-library-search"]', 'vae dec');
    const first = page.locator('[data-testid="library-node"]').first();
    expect(await first.getAttribute('data-type')).toBe('VAEDecode');
    await shot(page, 'p03-node-library-search');
    await first.dragTo(page.locator('[data-testid="graph-canvas"]'), { targetPosition: { x: 120, y: 140 } });
    await page.waitForFunction(() => window.usoEditor.editor.graph.nodes.length === 2);
    nodes = await nodesIn(page);
    const dropped = nodes.find((n) => n.type === 'VAEDecode')!;
    const at = await toGraph(page, box.x + 120, box.y + 140);
    expect(dropped.pos[0]).toBeCloseTo(at[0], 0);
    expect(dropped.pos[1]).toBeCloseTo(at[1], 0);
    await shot(page, 'p04-node-library-dropped');
    // Each addition is one undo step.
    await page.evaluate(() => window.usoEditor.controller.undo());
    expect((await nodesIn(page)).map((n) => n.type)).toEqual(['KSampler']);
    await page.fill('[data-testid="node-library-search"]', '');
    await page.click('[data-testid="sidebar-tab-nodes"]');
  });
});
