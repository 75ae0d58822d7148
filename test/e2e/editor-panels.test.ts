/**
 * End-to-end tests of the editor's panels and canvas tools (issue 13) in Debian's Chromium against a real USO Studio
 * server process with the demo models (`uso-studio models demo`) and the server's test pack: the left sidebar with the
 * node library, model library and template browser, the canvas's drawn icons, the Properties Panel, runtime errors and
 * Markdown notes. Screenshots go to test/e2e/screenshots (names starting `p`).
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  REPO_ROOT, buildEditor, launchChromium, startServerProcess, waitForEditor, writeDemoModels,
  type Browser, type Page, type ServerProcess,
} from '../../packages/editor/test-support/browser.ts';

// Functions handed to page.evaluate run in the browser; the repository's type check has no DOM library.
declare const window: any;
declare const document: any;

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

/**
 * In the page: which of `chars` Chromium draws as the empty box of a missing glyph in `font` (the same pixels as a
 * private-use character no font has).
 */
const boxedChars = (page: Page, chars: string[], font: string) => page.evaluate(({ list, f }) => {
  const el = document.createElement('canvas');
  el.width = 48;
  el.height = 48;
  const ctx = el.getContext('2d')!;
  const draw = (ch: string) => {
    ctx.clearRect(0, 0, 48, 48);
    ctx.font = f;
    ctx.fillStyle = '#000';
    ctx.textBaseline = 'top';
    ctx.fillText(ch, 8, 8);
    return Array.from(ctx.getImageData(0, 0, 48, 48).data).join(',');
  };
  const boxes = new Set([draw('\uE000'), draw('\u{10FFFD}')]);
  return list.filter((ch: string) => boxes.has(draw(ch)));
}, { list: chars, f: font }) as Promise<string[]>;

/** In the page: every string the canvas draws with fillText during one frame. */
const drawnStrings = (page: Page) => page.evaluate(() => {
  const seen: string[] = [];
  const proto = (window as any).CanvasRenderingContext2D.prototype;
  const fillText = proto.fillText;
  proto.fillText = function (this: unknown, text: unknown, ...rest: unknown[]) {
    seen.push(String(text));
    return fillText.call(this, text, ...rest);
  };
  try {
    window.usoEditor.editor.drawFrame();
  } finally {
    proto.fillText = fillText;
  }
  return seen;
}) as Promise<string[]>;

/** The distinct characters of some strings beyond printable ASCII. */
const unusualChars = (texts: string[]) => [...new Set([...texts.join('')])].filter((ch) => ch.codePointAt(0)! > 0x7e);

/** The page position of a graph position on the canvas. */
const toPage = (page: Page, x: number, y: number) => page.evaluate(([gx, gy]) => {
  const { editor } = window.usoEditor;
  const rect = editor.canvas.canvas.getBoundingClientRect();
  const p = editor.canvas.ds.convertOffsetToCanvas([gx, gy]);
  return [rect.left + p[0], rect.top + p[1]];
}, [x, y]) as Promise<[number, number]>;

describe('panels and canvas tools, against a real server with the demo models', () => {
  let server: ServerProcess;
  let browser: Browser;
  let page: Page;
  let dataDir: string;

  beforeAll(async () => {
    buildEditor();
    dataDir = mkdtempSync(join(tmpdir(), 'uso-e2e-panels-'));
    writeDemoModels(dataDir);
    // The server's test pack beside the demo models: SrvError fails on purpose.
    server = await startServerProcess({ dataDir, extraPacks: [join(REPO_ROOT, 'packages/server/src/test-support/test-pack.ts')] });
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
  it('lists models by folder from /models, searches them, and makes a dragged or clicked model its loader node', async () => {
    await freshCanvas(page);
    await page.click('[data-testid="sidebar-tab-models"]');
    await page.waitForSelector('[data-testid="model-folder"][data-folder="checkpoints"]');
    const folders = await page.locator('[data-testid="model-folder"]').evaluateAll((els) => els.map((e) => (e as any).dataset.folder));
    // The demo set's folders, each with files; empty folders (embeddings, upscale_models, ...) are left out.
    for (const f of ['checkpoints', 'clip_vision', 'diffusion_models', 'loras', 'text_encoders', 'vae']) expect(folders).toContain(f);
    expect(folders).not.toContain('embeddings');
    await page.click('[data-testid="model-folder"][data-folder="checkpoints"]');
    await shot(page, 'p05-model-library');

    // Drag the checkpoint onto the canvas: a CheckpointLoaderSimple with that file, where it was dropped.
    const box = await canvasBox(page);
    const checkpoint = page.locator('[data-testid="model-file"][data-folder="checkpoints"]').first();
    expect(await checkpoint.getAttribute('data-file')).toBe('uso-demo-flux-checkpoint.safetensors');
    await checkpoint.dragTo(page.locator('[data-testid="graph-canvas"]'), { targetPosition: { x: 100, y: 120 } });
    await page.waitForFunction(() => window.usoEditor.editor.graph.nodes.length === 1);
    let nodes = await nodesIn(page);
    expect(nodes[0]!.type).toBe('CheckpointLoaderSimple');
    expect(nodes[0]!.widgets).toEqual([['ckpt_name', 'uso-demo-flux-checkpoint.safetensors']]);
    const at = await toGraph(page, box.x + 100, box.y + 120);
    expect(nodes[0]!.pos[0]).toBeCloseTo(at[0], 0);
    expect(nodes[0]!.pos[1]).toBeCloseTo(at[1], 0);

    // Search across folders, then click each kind of model: its folder's loader, from the classes this server has.
    await page.fill('[data-testid="model-library-search"]', 'uso-demo');
    // Each folder's loader: the first of ComfyUI's candidates this server has.
    const info = await (await fetch(`${server.url}/api/object_info`)).json() as Record<string, unknown>;
    const pick = (...candidates: [string, string][]) => candidates.find(([type]) => type in info)!;
    const expected: [string, string, string, string][] = [
      ['loras', 'uso-demo-dit-lora.safetensors', ...pick(['LoraLoader', 'lora_name'], ['LoraLoaderModelOnly', 'lora_name'])],
      ['vae', 'uso-demo-ae.safetensors', 'VAELoader', 'vae_name'],
      ['clip_vision', 'uso-demo-siglip-vision.safetensors', 'CLIPVisionLoader', 'clip_name'],
      ['diffusion_models', 'uso-demo-flux-dit.safetensors', 'UNETLoader', 'unet_name'],
      ['text_encoders', 'uso-demo-t5xxl.safetensors', ...pick(['CLIPLoader', 'clip_name'], ['DualCLIPLoader', 'clip_name1'])],
      ['model_patches', 'uso-demo-projector.safetensors', 'ModelPatchLoader', 'name'],
    ];
    for (const [folder, file] of expected) await page.click(`[data-testid="model-file"][data-folder="${folder}"][data-file="${file}"]`);
    await shot(page, 'p06-model-loaders');
    nodes = await nodesIn(page);
    for (const [, file, type, input] of expected) {
      const node = nodes.find((n) => n.type === type);
      expect(node, type).toBeDefined();
      expect(node!.widgets.find(([name]) => name === input)?.[1], type).toBe(file);
    }
    // Clicked items all went to the view's centre, each stepped off the others.
    expect(new Set(nodes.map((n) => n.pos.join(','))).size).toBe(nodes.length);
    await page.fill('[data-testid="model-library-search"]', 't5xxl');
    expect(await page.locator('[data-testid="model-file"]').evaluateAll((els) => els.map((e) => (e as any).dataset.file))).toEqual(['uso-demo-t5xxl.safetensors', 'uso-demo-t5xxl.safetensors']);
    await page.fill('[data-testid="model-library-search"]', '');
    await page.click('[data-testid="sidebar-tab-models"]');
  });
  it('shows the shipped templates as cards with their graph drawn small, and opens one as the Templates menu does (a new tab)', async () => {
    await page.click('[data-testid="sidebar-tab-templates"]');
    const shipped = readdirSync(join(REPO_ROOT, 'workflows')).filter((f) => f.endsWith('.json')).map((f) => f.replace(/\.json$/, '')).sort();
    const cards = await page.locator('[data-testid="template-card"]').evaluateAll((els) => els.map((e) => (e as any).dataset.name));
    expect(cards).toEqual(shipped);
    // Each thumbnail draws one shape per node of its template.
    for (const name of shipped) {
      const wf = JSON.parse(readFileSync(join(REPO_ROOT, 'workflows', `${name}.json`), 'utf8')) as { nodes: unknown[] };
      const rects = await page.locator(`[data-testid="template-card"][data-name="${name}"] svg rect[stroke]`).count();
      expect(rects, name).toBe(wf.nodes.length);
    }
    await shot(page, 'p07-templates');
    const tabsBefore = await page.evaluate(() => window.usoEditor.app.tabs.length) as number;
    await page.click('[data-testid="template-card"][data-name="uso-text-only"]');
    const wf = JSON.parse(readFileSync(join(REPO_ROOT, 'workflows/uso-text-only.json'), 'utf8')) as { nodes: unknown[] };
    expect(await page.evaluate(() => window.usoEditor.app.workflowName)).toBe('uso-text-only');
    expect(await page.evaluate(() => window.usoEditor.editor.stats().nodes)).toBe(wf.nodes.length);
    // The same path as the Templates menu: a new tab, the graph before it kept in its own.
    expect(await page.evaluate(() => window.usoEditor.app.tabs.length)).toBe(tabsBefore + 1);
    await shot(page, 'p08-template-opened');
    await page.click('[data-testid="sidebar-tab-templates"]');
  });
  it('draws its icons as paths: the subgraph open button, a missing node type, pins, Convert to Subgraph; no glyph is an empty box', async () => {
    const workflow = JSON.parse(readFileSync(join(REPO_ROOT, 'workflows/uso-template-subgraphs.json'), 'utf8')) as { nodes: { id: number; type: string; pos: unknown }[] };
    // A node of a type this server lacks, beside the template's subgraph node.
    const subgraphNode = workflow.nodes.find((n) => n.id === 25)! as unknown as { pos: [number, number]; size: [number, number] };
    workflow.nodes.push({ id: 900, type: 'NoSuchNodeType', pos: [subgraphNode.pos[0], subgraphNode.pos[1] + subgraphNode.size[1] + 70], size: [260, 60], flags: {}, order: 99, mode: 0, inputs: [], outputs: [], properties: {}, widgets_values: [] } as never);
    await page.evaluate((wf) => {
      const { controller, editor } = window.usoEditor;
      controller.loadWorkflow(wf, 'icons');
      // The subgraph node pinned too: its title bar then carries the open button and the pin.
      const node = editor.graph.getNodeById(25);
      node.pin(true);
      editor.canvas.deselectAll();
      editor.addGroup('Pinned group');
      const group = editor.graph.groups.at(-1);
      group.pos = [node.pos[0] + node.size[0] + 40, node.pos[1] - 120];
      group.size = [300, 160];
      group.pin(true);
      editor.canvas.ds.scale = 1;
      editor.canvas.centerOnNode(node);
      editor.canvas.setDirty(true, true);
    }, workflow);
    await shot(page, 'p09-icons');
    const texts = await drawnStrings(page);
    const drawn = unusualChars(texts);
    // What litegraph would have written: its subgraph button's icon-font character and the emoji.
    const fontChar = await page.evaluate(() => window.usoEditor.editor.graph.getNodeById(25).title_buttons[0].text) as string;
    const originals = [fontChar, '❌', '📌', '🆕'];
    // The check can fail: each original shows as an empty box in this Chromium.
    expect(await boxedChars(page, originals, '14px Arial')).toEqual(originals);
    expect(await boxedChars(page, drawn, '14px Arial')).toEqual([]);
    for (const ch of originals) expect(texts.join(''), `canvas drew ${ch}`).not.toContain(ch);
    // The missing type is written as its name, with the warning icon after it (yellow pixels in the title bar).
    expect(texts).toContain('NoSuchNodeType');
    expect(texts).toContain('Pinned group');

    // The subgraph node's open button is drawn (light pixels at its area) and opens the subgraph when clicked.
    const area = await page.evaluate(() => Array.from(window.usoEditor.editor.graph.getNodeById(25).title_buttons[0]._last_area)) as number[];
    const node25 = await page.evaluate(() => { const n = window.usoEditor.editor.graph.getNodeById(25); return [n.pos[0], n.pos[1]]; }) as [number, number];
    const [bx, by] = await toPage(page, node25[0] + area[0]! + area[2]! / 2, node25[1] + area[1]! + area[3]! / 2);
    const lit = await page.evaluate(([x, y]: [number, number]) => {
      const { editor } = window.usoEditor;
      editor.drawFrame();
      const el = editor.canvas.canvas;
      const rect = el.getBoundingClientRect();
      const r = editor.pixelRatio;
      const data = el.getContext('2d').getImageData(Math.round((x - rect.left - 8) * r), Math.round((y - rect.top - 8) * r), Math.round(16 * r), Math.round(16 * r)).data;
      let bright = 0;
      // The title bar is #353535 (sum 159); the icon is stroked in the title's text colour.
      for (let i = 0; i < data.length; i += 4) if (data[i] + data[i + 1] + data[i + 2] > 300) bright++;
      return bright;
    }, [bx, by] as [number, number]) as number;
    expect(lit, 'light icon pixels on the open button').toBeGreaterThan(10);
    await page.mouse.click(bx, by);
    await page.waitForFunction(() => window.usoEditor.app.graphPath.length === 2);
    await shot(page, 'p10-subgraph-opened');
    // litegraph finds the node under a click among the nodes of the last frame it drew: let the root graph be drawn
    // (a person cannot click within the same frame either).
    await page.evaluate(() => new Promise<void>((resolve) => {
      window.usoEditor.editor.exitSubgraph();
      window.requestAnimationFrame(() => window.requestAnimationFrame(() => resolve()));
    }));

    // The canvas menu's Convert to Subgraph entry: an SVG icon, no emoji; no menu text is an empty box.
    // On the title bar, left of its buttons: the node's body carries the prompt's textarea, which takes right-clicks
    // for the browser's own menu wherever it lies over the point.
    const [sx, sy] = await toPage(page, node25[0] + 60, node25[1] - 15);
    await page.evaluate(() => window.usoEditor.editor.canvas.selectNode(window.usoEditor.editor.graph.getNodeById(25)));
    await page.mouse.click(sx, sy, { button: 'right' });
    const entry = page.locator('.litecontextmenu .litemenu-entry', { hasText: 'Convert to Subgraph' }).first();
    await entry.waitFor();
    expect(await entry.locator('svg path').count()).toBe(1);
    await shot(page, 'p11-menu-icon');
    const menuText = await page.locator('.litecontextmenu').allInnerTexts();
    expect(menuText.join('')).not.toMatch(/\p{Extended_Pictographic}/u);
    expect(await boxedChars(page, unusualChars(menuText), '13px Arial')).toEqual([]);
    await page.keyboard.press('Escape');
    await page.evaluate(() => document.querySelectorAll('.litecontextmenu').forEach((m: any) => m.remove()));

    // Every character of the page's own text (toolbar, sidebar, panels) has a glyph.
    const pageText = await page.evaluate(() => document.body.innerText) as string;
    expect(await boxedChars(page, unusualChars([pageText]), '13px system-ui, sans-serif')).toEqual([]);
  });

  it('keeps the Properties Panel from the node menu inside the view at 1280x720 and 1600x900', async () => {
    for (const [width, height] of [[1280, 720], [1600, 900]] as const) {
      await page.setViewportSize({ width, height });
      await page.evaluate(() => {
        const { controller, editor } = window.usoEditor;
        controller.loadTemplate(window.usoEditor.app.templates.find((t: any) => t.name === 'uso-style-subject'));
        editor.fitView();
      });
      const target = await page.evaluate(() => {
        const n = window.usoEditor.editor.graph.nodes.find((node: any) => node.type === 'KSampler');
        return [n.pos[0] + 20, n.pos[1] - 15];
      }) as [number, number];
      const [x, y] = await toPage(page, ...target);
      await page.mouse.click(x, y, { button: 'right' });
      await page.locator('.litecontextmenu .litemenu-entry', { hasText: 'Properties Panel' }).click();
      const panel = page.locator('.litegraph.dialog');
      await panel.waitFor();
      const box = (await panel.boundingBox())!;
      await shot(page, `p12-properties-panel-${width}x${height}`);
      expect(box.y, 'panel top').toBeGreaterThanOrEqual(0);
      expect(box.x, 'panel left').toBeGreaterThanOrEqual(0);
      expect(box.y + box.height, 'panel bottom').toBeLessThanOrEqual(height);
      expect(box.x + box.width, 'panel right').toBeLessThanOrEqual(width);
      expect(box.height).toBeGreaterThan(100);
      // It is the KSampler's panel, with its Title field and a way to close it.
      expect(await panel.locator('.dialog-title').innerText()).toBe('KSampler');
      await panel.locator('.close').click();
      await panel.waitFor({ state: 'detached' });
    }
    await page.setViewportSize({ width: 1600, height: 900 });
  });
  it('shows a runtime error once, without the error class prefix, and covers no node below the failed one', async () => {
    const message = 'the planned failure, with enough words to wrap onto several lines under a narrow node';
    const below = await page.evaluate((text) => {
      const { editor } = window.usoEditor;
      editor.clear();
      editor.canvas.ds.scale = 1;
      editor.canvas.ds.offset[0] = 0;
      editor.canvas.ds.offset[1] = 0;
      const failing = editor.addNode('SrvError', [80, 100]);
      failing.widgets[0].value = text;
      const next = editor.addNode('SrvAdd', [80, 100 + failing.size[1] + 40]);
      editor.canvas.deselectAll();
      return [next.pos[0], next.pos[1]];
    }, message) as [number, number];
    await page.click('[data-testid="queue-button"]');
    await page.waitForSelector('[data-testid="runtime-error"]', { timeout: 20_000 });
    // Once on the page (the error card), as sent: no toast repeats it, no `Error:` in front.
    const pageText = await page.evaluate(() => document.body.innerText) as string;
    expect(pageText.split(message).length - 1).toBe(1);
    expect(await page.locator('[data-testid="runtime-error"] p').innerText()).toBe(message);
    // On the canvas the node is outlined; the message is not written again under it.
    expect(await page.evaluate(() => window.usoEditor.editor.graph.nodes.filter((n: any) => n.has_errors).map((n: any) => n.type))).toEqual(['SrvError']);
    const texts = await drawnStrings(page);
    expect(texts.filter((t) => /Error:/.test(t))).toEqual([]);
    expect(texts.filter((t) => t.includes('several lines'))).toEqual([]);
    // The title bar of the node below is its own grey, not covered by a red box.
    const [x, y] = await toPage(page, below[0] + 80, below[1] - 15);
    const pixel = await page.evaluate(([px, py]: [number, number]) => {
      const { editor } = window.usoEditor;
      editor.drawFrame();
      const el = editor.canvas.canvas;
      const rect = el.getBoundingClientRect();
      const r = editor.pixelRatio;
      return Array.from(el.getContext('2d').getImageData(Math.round((px - rect.left) * r), Math.round((py - rect.top) * r), 1, 1).data).slice(0, 3);
    }, [x, y] as [number, number]) as number[];
    expect(pixel[0]! - pixel[1]!, `title bar of the node below: ${pixel}`).toBeLessThan(20);
    await shot(page, 'p13-runtime-error');
    await page.click('[data-testid="runtime-error"] header button');
  }, 60_000);

  it('renders MarkdownNote text as sanitised Markdown, edits it on double-click, and leaves Note as plain text', async () => {
    const markdown = '# Notes\nSome **bold**, *italic* and `code`.\n\n- one\n- two\n\n[docs](https://example.com)\n\n<img src=x onerror="window.__injected = 1"><script>window.__injected = 2</script>';
    await freshCanvas(page);
    await page.evaluate((text) => {
      const { editor } = window.usoEditor;
      const md = editor.addNode('MarkdownNote', [60, 80]);
      md.widgets[0].value = text;
      const note = editor.addNode('Note', [520, 80]);
      note.widgets[0].value = '**stays raw**';
      editor.canvas.deselectAll();
      editor.drawFrame();
    }, markdown);
    const view = page.locator('.lg-markdown');
    await view.waitFor({ state: 'visible' });
    expect(await view.locator('h1').innerText()).toBe('Notes');
    expect(await view.locator('strong').innerText()).toBe('bold');
    expect(await view.locator('em').innerText()).toBe('italic');
    expect(await view.locator('code').innerText()).toBe('code');
    expect(await view.locator('li').allInnerTexts()).toEqual(['one', 'two']);
    expect(await view.locator('a').getAttribute('href')).toBe('https://example.com');
    expect(await view.locator('a').getAttribute('rel')).toBe('noopener noreferrer');
    // Raw HTML shows as text and never runs.
    expect(await view.locator('img, script').count()).toBe(0);
    expect(await view.innerText()).toContain('<img src=x');
    expect(await page.evaluate(() => window.__injected ?? null)).toBeNull();
    // Note keeps its plain text box.
    expect(await page.locator('textarea.lg-textarea').evaluateAll((els) => els.filter((e: any) => e.style.display !== 'none').map((e: any) => e.value))).toEqual(['**stays raw**']);
    await shot(page, 'p14-markdown-note');

    // Double-click edits the source; leaving the box renders the edit.
    await view.dblclick();
    await page.waitForFunction(() => document.activeElement?.tagName === 'TEXTAREA' && document.activeElement.value.startsWith('# Notes'));
    expect(await view.isVisible()).toBe(false);
    await page.keyboard.press('Control+End');
    await page.keyboard.type('\n\n**added**');
    await page.evaluate(() => document.activeElement.blur());
    await view.waitFor({ state: 'visible' });
    expect(await view.locator('strong').allInnerTexts()).toEqual(['bold', 'added']);
    expect(await page.evaluate(() => window.usoEditor.editor.graph.nodes.find((n: any) => n.type === 'MarkdownNote').widgets[0].value)).toContain('**added**');
  });
  it('shows a minimap of the graph and the view, moves the view by press and drag on it, and keeps the choice as a server setting', async () => {
    await page.evaluate(() => {
      const { controller, editor } = window.usoEditor;
      controller.loadTemplate(window.usoEditor.app.templates.find((t: any) => t.name === 'uso-style-subject'));
      editor.fitView();
      // Zoomed in, so the view's rectangle is smaller than the graph on the map.
      editor.zoomBy(2.5);
    });
    expect(await page.locator('[data-testid="minimap"]').count()).toBe(0);
    await page.click('[data-testid="toggle-minimap"]');
    const map = page.locator('[data-testid="minimap"]');
    await map.waitFor();
    await page.evaluate(() => window.usoEditor.editor.drawFrame());
    /** The minimap's pixels: how many show nodes (not background) and the box of the light viewport outline. */
    const readMap = () => page.evaluate(() => {
      const el = document.querySelector('[data-testid="minimap"]');
      const r = el.width / el.clientWidth;
      const data = el.getContext('2d').getImageData(0, 0, el.width, el.height).data;
      let nodes = 0;
      let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity];
      for (let i = 0; i < data.length; i += 4) {
        const [red, green, blue] = [data[i], data[i + 1], data[i + 2]];
        const x = (i / 4) % el.width;
        const y = Math.floor(i / 4 / el.width);
        if (red > 200 && green > 200 && blue > 200) {
          x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x); y1 = Math.max(y1, y);
        } else if (red + green + blue > 120) nodes++;
      }
      return { nodes, view: [x0 / r, y0 / r, x1 / r, y1 / r] };
    }) as Promise<{ nodes: number; view: [number, number, number, number] }>;
    const before = await readMap();
    expect(before.nodes, 'node pixels on the minimap').toBeGreaterThan(500);
    expect(before.view[2] - before.view[0], 'viewport outline width').toBeGreaterThan(10);
    await shot(page, 'p15-minimap');

    // A press centres the view there: the outline's centre follows the pointer.
    const box = (await map.boundingBox())!;
    const centreOf = (v: number[]) => [(v[0]! + v[2]!) / 2, (v[1]! + v[3]!) / 2];
    await page.mouse.click(box.x + box.width * 0.3, box.y + box.height * 0.4);
    await page.evaluate(() => window.usoEditor.editor.drawFrame());
    let [cx, cy] = centreOf((await readMap()).view);
    expect(Math.abs(cx! - box.width * 0.3), `outline centre x ${cx}`).toBeLessThan(3);
    expect(Math.abs(cy! - box.height * 0.4), `outline centre y ${cy}`).toBeLessThan(3);
    // The main view's centre is the graph point the map shows there: moving the pointer right moves the graph view right.
    const viewCentre = () => page.evaluate(() => {
      const { editor } = window.usoEditor;
      return editor.toGraphPos(...editor.viewCentre());
    }) as Promise<[number, number]>;
    const start = await viewCentre();
    await page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.4);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.45, { steps: 5 });
    await page.mouse.move(box.x + box.width * 0.7, box.y + box.height * 0.6, { steps: 5 });
    await page.mouse.up();
    await page.evaluate(() => window.usoEditor.editor.drawFrame());
    [cx, cy] = centreOf((await readMap()).view);
    expect(Math.abs(cx! - box.width * 0.7)).toBeLessThan(3);
    expect(Math.abs(cy! - box.height * 0.6)).toBeLessThan(3);
    const end = await viewCentre();
    expect(end[0]).toBeGreaterThan(start[0] + 50);
    expect(end[1]).toBeGreaterThan(start[1] + 20);
    await shot(page, 'p16-minimap-dragged');

    // The switch is a setting kept on the server under ComfyUI's id: it survives a reload.
    const settings = async () => (await (await fetch(`${server.url}/api/settings`)).json()) as Record<string, unknown>;
    expect((await settings())['Comfy.Minimap.Visible']).toBe(true);
    await page.reload();
    await waitForEditor(page);
    await map.waitFor();
    // The settings dialog shows it and switches it off.
    await page.evaluate(() => { window.usoEditor.app.settingsOpen = true; });
    const row = page.locator('[data-testid="setting-Comfy.Minimap.Visible"] input');
    expect(await row.isChecked()).toBe(true);
    await row.uncheck();
    await map.waitFor({ state: 'detached' });
    await page.waitForFunction(() => window.usoEditor.app.settings['Comfy.Minimap.Visible'] === false);
    expect((await settings())['Comfy.Minimap.Visible']).toBe(false);
    await page.keyboard.press('Escape');
    await page.waitForSelector('[data-testid="settings-dialog"]', { state: 'detached' });
  });

  it('shows #id badges over node titles when switched on, and none when off', async () => {
    await page.evaluate(() => {
      const { controller, editor } = window.usoEditor;
      controller.loadTemplate(window.usoEditor.app.templates.find((t: any) => t.name === 'uso-text-only'));
      editor.fitView();
    });
    const ids = await page.evaluate(() => window.usoEditor.editor.graph.nodes.map((n: any) => `#${n.id}`)) as string[];
    const badges = async () => (await drawnStrings(page)).filter((t) => /^#\d+$/.test(t));
    expect(await badges()).toEqual([]);
    await page.click('[data-testid="toggle-node-ids"]');
    expect((await badges()).sort()).toEqual([...ids].sort());
    await shot(page, 'p17-node-id-badges');
    await page.click('[data-testid="toggle-node-ids"]');
    await page.waitForFunction(() => !window.usoEditor.app.viewOptions.nodeIdBadges);
    expect(await badges()).toEqual([]);
    // ComfyUI's setting id and value for it, on the server.
    await page.click('[data-testid="toggle-node-ids"]');
    await page.waitForFunction(() => window.usoEditor.app.settings['Comfy.NodeBadge.NodeIdBadgeMode'] === 'Show all');
    expect(((await (await fetch(`${server.url}/api/settings`)).json()) as Record<string, unknown>)['Comfy.NodeBadge.NodeIdBadgeMode']).toBe('Show all');
    await page.click('[data-testid="toggle-node-ids"]');
    await page.waitForFunction(() => window.usoEditor.app.settings['Comfy.NodeBadge.NodeIdBadgeMode'] === 'None');
  });
});
