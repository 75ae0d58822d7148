/**
 * End-to-end tests of the editor in real Chromium (Debian's, driven by playwright-core) against a real USO Studio
 * server process. The first suite adds the server's test pack to the default packs (fast, deterministic nodes with
 * progress, previews and images); the second opens and runs the default USO workflow with the demo models.
 * Screenshots go to the folder printed at the start (test/e2e/screenshots).
 */
import { createRequire } from 'node:module';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  REPO_ROOT, buildEditor, launchChromium, startServerProcess, waitForEditor, writeDemoModels,
  type Browser, type Page, type ServerProcess,
} from '../../packages/editor/test-support/browser.ts';

// Functions handed to page.evaluate run in the browser; the repository's type check has no DOM library, so the few
// browser globals they use are declared here, for this file only.
declare const window: any;
declare const document: any;
declare const DataTransfer: any;
declare const DragEvent: any;
type HTMLImageElement = { complete: boolean; naturalWidth: number };

const SHOTS = join(REPO_ROOT, 'test/e2e/screenshots');
mkdirSync(SHOTS, { recursive: true });
console.log(`e2e screenshots: ${SHOTS}`);

const TEST_PACK = join(REPO_ROOT, 'packages/server/src/test-support/test-pack.ts');

// A 2x2 RGB PNG (red, green / blue, white) used as the uploaded input image.
const INPUT_PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGP4z8DAwMDAxMDAwMDAAAANHQEDasKb6QAAAABJRU5ErkJggg==',
  'base64',
);

interface EditorHandle {
  editor: {
    stats(): { nodes: number; links: number; groups: number; subgraphs: number };
    serialize(): { nodes: { id: number; type: string; mode: number; widgets_values?: unknown[]; inputs?: { name: string; link: number | null }[] }[]; links: unknown[] };
  };
  app: Record<string, unknown>;
}

/** Dispatches a drop of `files` (base64 bytes) on the canvas host at a page position, as a dragged file would land. */
async function dropFiles(page: Page, files: { b64: string; name: string; type: string }[], at: [number, number]): Promise<void> {
  await page.evaluate(({ list, x, y }) => {
    const dt = new DataTransfer();
    for (const f of list) dt.items.add(new File([Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0))], f.name, { type: f.type }));
    const target = document.querySelector('[data-testid="graph-canvas"]')!.parentElement!;
    target.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true, clientX: x, clientY: y }));
    target.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true, clientX: x, clientY: y }));
  }, { list: files, x: at[0], y: at[1] });
}

/** A comparable digest of a workflow: node ids, types, modes, widget values and links (not positions or view). */
function digest(wf: ReturnType<EditorHandle['editor']['serialize']>) {
  return {
    nodes: [...wf.nodes].sort((a, b) => a.id - b.id).map((n) => ({ id: n.id, type: n.type, mode: n.mode, widgets: n.widgets_values ?? [] })),
    links: [...wf.links].map((l) => JSON.stringify(Array.isArray(l) ? l : [(l as { id: number }).id])).sort(),
  };
}

const serializeIn = (page: Page) => page.evaluate(() => (window as unknown as { usoEditor: EditorHandle }).usoEditor.editor.serialize());
const appIn = <T>(page: Page, key: string) => page.evaluate((k) => (window as unknown as { usoEditor: EditorHandle }).usoEditor.app[k], key) as Promise<T>;

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`) });
}

/** Builds the test graph through the page: LoadImage -> SaveImage, a sleeping node with progress, a previewer. */
async function buildTestGraph(page: Page): Promise<void> {
  await page.evaluate(() => {
    const { editor } = (window as unknown as { usoEditor: { editor: any } }).usoEditor;
    editor.clear();
    const load = editor.addNode('LoadImage', [60, 80]);
    load.widgets[0].value = 'input.png';
    const save = editor.addNode('SaveImage', [420, 80]);
    load.connect(0, save, 0);
    const sleep = editor.addNode('SrvSleep', [60, 480]);
    sleep.widgets.find((w: any) => w.name === 'ms').value = 1200;
    sleep.widgets.find((w: any) => w.name === 'steps').value = 12;
    const preview = editor.addNode('SrvPreview', [420, 480]);
    preview.widgets[0].value = 2;
  });
}

/** Empties the canvas and resets the view to scale 1 at the origin, so tests can compute screen positions. */
async function freshCanvas(page: Page): Promise<void> {
  await page.evaluate(() => {
    const { editor } = (window as unknown as { usoEditor: { editor: any } }).usoEditor;
    editor.clear();
    editor.canvas.ds.scale = 1;
    editor.canvas.ds.offset[0] = 0;
    editor.canvas.ds.offset[1] = 0;
  });
}

describe('editor against a real server (test nodes)', () => {
  let server: ServerProcess;
  let browser: Browser;
  let page: Page;
  const downloads = mkdtempSync(join(tmpdir(), 'uso-e2e-dl-'));

  beforeAll(async () => {
    buildEditor();
    server = await startServerProcess({ extraPacks: [TEST_PACK] });
    // The input image LoadImage reads.
    const form = new FormData();
    form.append('image', new Blob([INPUT_PNG], { type: 'image/png' }), 'input.png');
    const up = await fetch(`${server.url}/api/upload/image`, { method: 'POST', body: form, headers: { origin: server.url } });
    expect(up.ok, `upload failed: ${up.status} ${await up.clone().text()}`).toBe(true);
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 }, acceptDownloads: true });
    await page.goto(server.url);
    await waitForEditor(page);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    rmSync(downloads, { recursive: true, force: true });
  });

  it('opens with node types from /object_info and a live connection', async () => {
    expect(await appIn<number>(page, 'nodeTypeCount')).toBeGreaterThan(5);
    await page.waitForSelector('[data-testid="connection"][data-state="open"]');
    await shot(page, '01-open');
  });

  it('searches nodes by double-click and adds the chosen one', async () => {
    await page.evaluate(() => (window as unknown as { usoEditor: { editor: { clear(): void } } }).usoEditor.editor.clear());
    await page.mouse.dblclick(500, 400);
    await page.waitForSelector('[data-testid="node-search"] input');
    await page.keyboard.type('save image');
    await shot(page, '02-search');
    await page.keyboard.press('Enter');
    const wf = await serializeIn(page);
    expect(wf.nodes.map((n) => n.type)).toEqual(['SaveImage']);
  });

  it('queues with Ctrl+Enter and shows progress, a live preview and the output image', async () => {
    await buildTestGraph(page);
    await page.click('canvas', { position: { x: 700, y: 800 } });
    await page.keyboard.press('Control+Enter');
    await page.waitForSelector('[data-testid="overall-progress"]', { timeout: 10_000 });
    await page.waitForFunction(() => {
      const app = (window as unknown as { usoEditor: { app: { execution: { nodeProgress: Record<string, unknown> } } } }).usoEditor.app;
      return Object.keys(app.execution.nodeProgress).length > 0;
    }, null, { timeout: 10_000 });
    await shot(page, '03-running');
    await page.waitForFunction(() => {
      const app = (window as unknown as { usoEditor: { app: { execution: { lastFinished: { status: string } | null } } } }).usoEditor.app;
      return app.execution.lastFinished?.status === 'success';
    }, null, { timeout: 20_000 });
    const gallery = await appIn<{ image: { filename: string } }[]>(page, 'execution').then((e) => (e as unknown as { gallery: { image: { filename: string } }[] }).gallery);
    expect(gallery.some((g) => g.image.filename.endsWith('.png'))).toBe(true);
    await page.click('[data-testid="panel-gallery"]');
    const img = page.locator('[data-testid="gallery-image"]').first();
    await img.waitFor();
    await page.waitForFunction(() => {
      const el = document.querySelector('[data-testid="gallery-image"]') as HTMLImageElement | null;
      return !!el && el.complete && el.naturalWidth > 0;
    }, null, { timeout: 10_000 });
    expect(await page.evaluate(() => (window as unknown as { usoEditor: { controller: { previewFramesReceived: number } } }).usoEditor.controller.previewFramesReceived)).toBeGreaterThanOrEqual(2);
    await shot(page, '04-output');
    // A history thumbnail reopens the workflow that ran.
    const ran = digest(await serializeIn(page));
    await page.evaluate(() => (window as unknown as { usoEditor: { controller: { newWorkflow(): void } } }).usoEditor.controller.newWorkflow());
    await page.click('[data-testid="panel-history"]');
    await page.locator('[data-testid="history-item"]').first().click();
    await page.waitForFunction((n) => (window as unknown as { usoEditor: EditorHandle }).usoEditor.editor.stats().nodes === n, ran.nodes.length);
    expect(digest(await serializeIn(page)).nodes.map((n) => n.type)).toEqual(ran.nodes.map((n) => n.type));
  }, 60_000);

  it('offers only fitting nodes when a link is dropped on empty canvas, and connects the pick', async () => {
    await freshCanvas(page);
    const start = await page.evaluate(() => {
      const { editor } = (window as unknown as { usoEditor: { editor: any } }).usoEditor;
      const load = editor.addNode('LoadImage', [100, 100]);
      editor.canvas.deselectAll();
      editor.canvas.setDirty(true, true);
      const [x, y] = load.getConnectionPos(false, 0);
      const rect = editor.canvas.canvas.getBoundingClientRect();
      return [x + rect.left, y + rect.top];
    });
    await page.waitForTimeout(100);
    await page.mouse.move(start[0]!, start[1]!);
    await page.mouse.down();
    await page.mouse.move(start[0]! + 200, start[1]! + 250, { steps: 8 });
    await page.mouse.move(start[0]! + 400, start[1]! + 300, { steps: 8 });
    await page.mouse.up();
    const input = page.locator('[data-testid="node-search"] input');
    await input.waitFor();
    expect(await input.getAttribute('placeholder')).toContain('IMAGE');
    const listed = await page.locator('[data-testid="node-search"] li button span').allTextContents();
    expect(listed).toContain('Save Image');
    expect(listed).not.toContain('KSampler');
    await page.keyboard.type('save');
    await shot(page, '05-link-release-search');
    await page.keyboard.press('Enter');
    const wf = await serializeIn(page);
    expect(wf.nodes.map((n) => n.type).sort()).toEqual(['LoadImage', 'SaveImage']);
    expect(wf.links.length).toBe(1);
  });

  it('cancels a pending prompt, interrupts the running one and clears the queue', async () => {
    await page.evaluate(() => {
      const { editor } = (window as unknown as { usoEditor: { editor: any } }).usoEditor;
      editor.clear();
      const sleep = editor.addNode('SrvSleep', [100, 100]);
      sleep.widgets.find((w: any) => w.name === 'ms').value = 20000;
      sleep.widgets.find((w: any) => w.name === 'steps').value = 200;
    });
    await page.fill('[data-testid="batch-count"]', '3');
    await page.click('[data-testid="panel-queue"]');
    if (!(await page.locator('[data-testid="queue-panel"]').count())) await page.click('[data-testid="panel-queue"]');
    await page.click('[data-testid="queue-button"]');
    await page.waitForSelector('[data-testid="queue-running"]', { timeout: 10_000 });
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="queue-pending"]').length === 2, null, { timeout: 10_000 });
    await shot(page, '06-queue');
    await page.locator('[data-testid="queue-pending"] button').first().click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="queue-pending"]').length === 1, null, { timeout: 10_000 });
    await page.click('[data-testid="queue-clear"]');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="queue-pending"]').length === 0, null, { timeout: 10_000 });
    await page.locator('[data-testid="queue-running"] button').click();
    await page.waitForFunction(() => {
      const app = (window as unknown as { usoEditor: { app: { execution: { lastFinished: { status: string } | null } } } }).usoEditor.app;
      return app.execution.lastFinished?.status === 'interrupted';
    }, null, { timeout: 10_000 });
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="queue-running"]').length === 0, null, { timeout: 10_000 });
    await page.fill('[data-testid="batch-count"]', '1');
  }, 60_000);

  it('exports the graph to a file (Workflow > Export) and reopens the same graph with Ctrl+O', async () => {
    const before = digest(await serializeIn(page));
    await page.click('[data-testid="menu-workflow"]');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid="menu-export"]')]);
    const file = join(downloads, download.suggestedFilename());
    await download.saveAs(file);
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { version: number; nodes: unknown[] };
    expect(saved.version).toBe(0.4);
    expect(saved.nodes.length).toBe(before.nodes.length);
    await page.evaluate(() => (window as unknown as { usoEditor: { controller: { newWorkflow(): void } } }).usoEditor.controller.newWorkflow());
    expect((await serializeIn(page)).nodes).toEqual([]);
    const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.keyboard.press('Control+o')]);
    await chooser.setFiles(file);
    await page.waitForFunction((n) => (window as unknown as { usoEditor: EditorHandle }).usoEditor.editor.stats().nodes === n, before.nodes.length);
    expect(digest(await serializeIn(page))).toEqual(before);
    await shot(page, '07-reopened');
  }, 30_000);

  it('restores the graph from an output PNG dropped on the canvas', async () => {
    type Workflow = ReturnType<EditorHandle['editor']['serialize']>;
    type Entry = { outputs: Record<string, { images?: { filename: string }[] }>; prompt: [number, string, unknown, { extra_pnginfo: { workflow: Workflow } }] };
    const history = (await (await fetch(`${server.url}/api/history`)).json()) as Record<string, Entry>;
    const entry = Object.values(history).find((h) => Object.values(h.outputs).some((o) => o.images?.some((i) => i.filename.startsWith('ComfyUI'))));
    expect(entry, 'a SaveImage output in history').toBeDefined();
    const ref = Object.values(entry!.outputs).flatMap((o) => o.images ?? []).find((i) => i.filename.startsWith('ComfyUI'))!;
    const png = Buffer.from(await (await fetch(`${server.url}/api/view?filename=${encodeURIComponent(ref.filename)}&type=output&subfolder=`)).arrayBuffer());
    const queued = digest(entry!.prompt[3].extra_pnginfo.workflow);
    await page.evaluate(() => (window as unknown as { usoEditor: { controller: { newWorkflow(): void } } }).usoEditor.controller.newWorkflow());
    await page.evaluate(async (b64) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const dt = new DataTransfer();
      dt.items.add(new File([bytes], 'output.png', { type: 'image/png' }));
      const target = document.querySelector('[data-testid="graph-canvas"]')!.parentElement!;
      target.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
      target.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, png.toString('base64'));
    await page.waitForFunction((n) => (window as unknown as { usoEditor: EditorHandle }).usoEditor.editor.stats().nodes === n, queued.nodes.length, { timeout: 10_000 });
    expect(digest(await serializeIn(page))).toEqual(queued);
    await shot(page, '08-dropped-png');
  }, 30_000);

  it('uploads a plain image dropped on empty canvas into a new LoadImage, and one dropped on it into that node', async () => {
    // sharp (the image pack's) writes a real JPEG: the server checks what it stores.
    type Sharp = (input: { create: { width: number; height: number; channels: 3; background: object } }) => { jpeg(): { toBuffer(): Promise<Buffer> } };
    const sharp = createRequire(join(REPO_ROOT, 'nodes/image/package.json'))('sharp') as Sharp;
    const jpeg = await sharp({ create: { width: 3, height: 2, channels: 3, background: { r: 200, g: 40, b: 90 } } }).jpeg().toBuffer();
    await freshCanvas(page);
    const rect = await page.evaluate(() => {
      const r = document.querySelector('[data-testid="graph-canvas"]')!.getBoundingClientRect();
      return [r.left, r.top];
    });
    // INPUT_PNG has no workflow chunk: it is an image to upload, not a graph to open.
    await dropFiles(page, [{ b64: INPUT_PNG.toString('base64'), name: 'dropped-plain.png', type: 'image/png' }], [rect[0]! + 300, rect[1]! + 200]);
    await page.waitForFunction(() => (window as unknown as { usoEditor: EditorHandle }).usoEditor.editor.serialize().nodes.length === 1, null, { timeout: 10_000 });
    let wf = await serializeIn(page);
    expect(wf.nodes.map((n) => n.type)).toEqual(['LoadImage']);
    expect(wf.nodes[0]!.widgets_values?.[0]).toBe('dropped-plain.png');
    expect((wf.nodes[0] as unknown as { pos: number[] }).pos).toEqual([300, 200]);
    // Dropped on that node (its body, below the title), a JPEG replaces its image.
    await dropFiles(page, [{ b64: jpeg.toString('base64'), name: 'dropped-photo.jpg', type: 'image/jpeg' }], [rect[0]! + 360, rect[1]! + 260]);
    await page.waitForFunction(() => (window as unknown as { usoEditor: EditorHandle }).usoEditor.editor.serialize().nodes[0]?.widgets_values?.[0] === 'dropped-photo.jpg', null, { timeout: 10_000 });
    wf = await serializeIn(page);
    expect(wf.nodes.map((n) => n.type)).toEqual(['LoadImage']);
    // Both files reached the server's input folder.
    for (const [name, bytes] of [['dropped-plain.png', INPUT_PNG], ['dropped-photo.jpg', jpeg]] as const) {
      const res = await fetch(`${server.url}/api/view?filename=${name}&type=input&subfolder=`);
      expect(res.status).toBe(200);
      expect(Buffer.from(await res.arrayBuffer()).equals(bytes)).toBe(true);
    }
    // The node shows the uploaded image once it has loaded.
    await page.waitForFunction(() => {
      const { editor } = (window as unknown as { usoEditor: { editor: any } }).usoEditor;
      const node = editor.graph.nodes[0];
      const decor = Object.getOwnPropertySymbols(node).map((k) => node[k]).find((v: any) => v && Array.isArray(v.images));
      return !!decor && decor.images.some((img: HTMLImageElement) => img.complete && img.naturalWidth > 0);
    }, null, { timeout: 10_000 });
    await shot(page, '08b-dropped-image');
  }, 30_000);

  it('offers a Primitive for a link dragged out of a widget socket, and queues its value into every widget it feeds', async () => {
    await freshCanvas(page);
    const start = await page.evaluate(() => {
      const { editor } = (window as unknown as { usoEditor: { editor: any } }).usoEditor;
      const add = editor.addNode('SrvAdd', [500, 120]);
      const other = editor.addNode('SrvAdd', [500, 420]);
      const save = editor.addNode('SrvSaveImage', [850, 120]);
      add.connect(0, other, other.inputs.findIndex((i: any) => i.name === 'a'));
      other.connect(0, save, save.inputs.findIndex((i: any) => i.name === 'value'));
      editor.canvas.deselectAll();
      editor.canvas.draw(true, true);
      const [x, y] = add.getConnectionPos(true, add.inputs.findIndex((i: any) => i.name === 'b'));
      const rect = editor.canvas.canvas.getBoundingClientRect();
      return { x: x + rect.left, y: y + rect.top, add: add.id, other: other.id };
    });
    await page.mouse.move(start.x, start.y);
    await page.mouse.down();
    await page.mouse.move(start.x - 150, start.y + 100, { steps: 8 });
    await page.mouse.move(start.x - 300, start.y + 150, { steps: 8 });
    await page.mouse.up();
    const input = page.locator('[data-testid="node-search"] input');
    await input.waitFor();
    const listed = await page.locator('[data-testid="node-search"] li button span').allTextContents();
    expect(listed).toContain('Primitive');
    await page.keyboard.type('primitive');
    await page.keyboard.press('Enter');
    const made = await page.evaluate((ids) => {
      const { editor } = (window as unknown as { usoEditor: { editor: any } }).usoEditor;
      const primitive = editor.graph.nodes.find((n: any) => n.type === 'PrimitiveNode');
      const add = editor.graph.getNodeById(ids.add);
      const other = editor.graph.getNodeById(ids.other);
      // The link released over the canvas connected the picked Primitive to the socket it came from.
      const first = editor.graph._links.get(primitive.outputs[0].links[0]);
      if (first?.target_id !== add.id) throw new Error('the Primitive is not linked to the dragged widget socket');
      // A second target: the other SrvAdd's b.
      primitive.connect(0, other, other.inputs.findIndex((i: any) => i.name === 'b'));
      primitive.widgets[0].value = 21;
      primitive.widgets[0].callback(21);
      const bOf = (n: any) => n.widgets.find((w: any) => w.name === 'b').value;
      return { widgets: primitive.widgets.map((w: any) => w.name), output: primitive.outputs[0].type, b: [bOf(add), bOf(other)] };
    }, { add: start.add, other: start.other });
    expect(made).toEqual({ widgets: ['value', 'control_after_generate'], output: 'INT', b: [21, 21] });
    await shot(page, '08c-primitive');
    const saved = (await serializeIn(page)).nodes.find((n) => n.type === 'PrimitiveNode') as unknown as { widgets_values: unknown[]; outputs: { widget?: { name: string } }[] };
    expect(saved.widgets_values).toEqual([21, 'fixed']);
    expect(saved.outputs[0]!.widget).toEqual({ name: 'b' });
    const before = Object.keys((await (await fetch(`${server.url}/api/history`)).json()) as object);
    await page.click('canvas', { position: { x: 700, y: 800 } });
    await page.keyboard.press('Control+Enter');
    await page.waitForFunction(() => {
      const app = (window as unknown as { usoEditor: { app: { execution: { lastFinished: { status: string } | null; error: unknown } } } }).usoEditor.app;
      return app.execution.lastFinished?.status === 'success';
    }, null, { timeout: 20_000 });
    type Entry = { prompt: [number, string, Record<string, { class_type: string; inputs: Record<string, unknown> }>] };
    const history = (await (await fetch(`${server.url}/api/history`)).json()) as Record<string, Entry>;
    const ran = Object.entries(history).find(([id]) => !before.includes(id))![1].prompt[2];
    expect(Object.values(ran).map((n) => n.class_type).sort()).toEqual(['SrvAdd', 'SrvAdd', 'SrvSaveImage']);
    for (const node of Object.values(ran).filter((n) => n.class_type === 'SrvAdd')) expect(node.inputs.b).toBe(21);
  }, 60_000);

  it('draws at devicePixelRatio 2 with a backing store twice the CSS size, and a click still selects a node', async () => {
    const hiDpi = await browser.newPage({ viewport: { width: 1200, height: 800 }, deviceScaleFactor: 2 });
    try {
      await hiDpi.goto(server.url);
      await waitForEditor(hiDpi);
      const sizes = await hiDpi.evaluate(() => {
        const el = document.querySelector('[data-testid="graph-canvas"]') as any;
        return { ratio: window.devicePixelRatio, width: el.width, height: el.height, cssWidth: el.clientWidth, cssHeight: el.clientHeight };
      });
      expect(sizes.ratio).toBe(2);
      expect(sizes.cssWidth).toBeGreaterThan(100);
      expect(sizes.width).toBe(sizes.cssWidth * 2);
      expect(sizes.height).toBe(sizes.cssHeight * 2);
      await freshCanvas(hiDpi);
      const target = await hiDpi.evaluate(() => {
        const { editor } = (window as unknown as { usoEditor: { editor: any } }).usoEditor;
        editor.addNode('SrvAdd', [100, 100]);
        const far = editor.addNode('SrvAdd', [500, 400]);
        editor.canvas.deselectAll();
        editor.canvas.setDirty(true, true);
        const rect = editor.canvas.canvas.getBoundingClientRect();
        // The middle of the far node's title bar, in page (CSS) pixels.
        return { id: far.id, x: rect.left + far.pos[0] + far.size[0] / 2, y: rect.top + far.pos[1] - 15 };
      });
      await hiDpi.waitForTimeout(100);
      await hiDpi.mouse.click(target.x, target.y);
      const selected = await hiDpi.evaluate(() => Object.keys((window as unknown as { usoEditor: { editor: any } }).usoEditor.editor.canvas.selected_nodes).map(Number));
      expect(selected).toEqual([target.id]);
      // The frame really is drawn at device resolution: the screenshot has twice the viewport's pixels.
      const png = await hiDpi.screenshot({ path: join(SHOTS, '08d-hidpi.png') });
      expect(png.readUInt32BE(16)).toBe(2400);
    } finally {
      await hiDpi.close();
    }
  }, 60_000);

  it('outlines a node that fails validation and shows its message on it', async () => {
    await page.evaluate(() => {
      const { editor } = (window as unknown as { usoEditor: { editor: any } }).usoEditor;
      editor.clear();
      const add = editor.addNode('SrvAdd', [80, 100]);
      add.widgets[0].value = 5e9; // above its max of 1e9
      const save = editor.addNode('SrvSaveImage', [420, 100]);
      add.connect(0, save, save.inputs.findIndex((i: any) => i.name === 'value'));
    });
    await page.click('[data-testid="queue-button"]');
    await page.waitForSelector('[data-testid="validation-errors"]', { timeout: 10_000 });
    const text = await page.textContent('[data-testid="validation-errors"]');
    expect(text).toMatch(/bigger than max/i);
    const marked = await page.evaluate(() => (window as unknown as { usoEditor: { editor: any } }).usoEditor.editor.graph.nodes.filter((n: any) => n.has_errors).map((n: any) => n.type));
    expect(marked).toEqual(['SrvAdd']);
    await shot(page, '09-validation-error');
  }, 30_000);

  it('shows a runtime error on its node', async () => {
    await page.evaluate(() => {
      const { editor } = (window as unknown as { usoEditor: { editor: any } }).usoEditor;
      editor.clear();
      editor.addNode('SrvError', [80, 100]).widgets[0].value = 'the planned failure';
    });
    await page.keyboard.press('Control+Enter');
    await page.waitForSelector('[data-testid="runtime-error"]', { timeout: 10_000 });
    expect(await page.textContent('[data-testid="runtime-error"]')).toContain('the planned failure');
    const marked = await page.evaluate(() => (window as unknown as { usoEditor: { editor: any } }).usoEditor.editor.graph.nodes.filter((n: any) => n.has_errors).length);
    expect(marked).toBe(1);
    await shot(page, '10-runtime-error');
  }, 30_000);

  it('mutes and bypasses with Ctrl+M and Ctrl+B, and undoes with Ctrl+Z', async () => {
    await page.evaluate(() => {
      const { editor } = (window as unknown as { usoEditor: { editor: any } }).usoEditor;
      editor.clear();
      const n = editor.addNode('SrvAdd', [300, 300]);
      editor.canvas.selectNode(n);
    });
    await page.evaluate(() => (window as unknown as { usoEditor: { controller: { checkpoint(): void } } }).usoEditor.controller.checkpoint());
    await page.keyboard.press('Control+m');
    expect((await serializeIn(page)).nodes[0]!.mode).toBe(2);
    await page.keyboard.press('Control+b');
    expect((await serializeIn(page)).nodes[0]!.mode).toBe(4);
    await page.keyboard.press('Control+z');
    expect((await serializeIn(page)).nodes[0]!.mode).toBe(2);
    await page.keyboard.press('Control+y');
    expect((await serializeIn(page)).nodes[0]!.mode).toBe(4);
  });

  it('keeps the graph across a reload (autosave)', async () => {
    const before = digest(await serializeIn(page));
    await page.evaluate(() => (window as unknown as { usoEditor: { controller: { flushAutosave(): void } } }).usoEditor.controller.flushAutosave());
    await page.reload();
    await waitForEditor(page);
    expect(digest(await serializeIn(page))).toEqual(before);
  }, 30_000);

  it('shows when the server is unreachable and reconnects by itself', async () => {
    const port = new URL(server.url).port;
    const dataDir = server.dataDir;
    await server.stop();
    await page.waitForSelector('[data-testid="offline-banner"]', { timeout: 10_000 });
    await shot(page, '11-offline');
    server = await startServerProcess({ dataDir, extraPacks: [TEST_PACK], args: ['--port', port] });
    await page.waitForSelector('[data-testid="connection"][data-state="open"]', { timeout: 20_000 });
    expect(await page.locator('[data-testid="offline-banner"]').count()).toBe(0);
  }, 60_000);
});

describe('the default USO workflow with the demo models', () => {
  let server: ServerProcess;
  let browser: Browser;
  let page: Page;
  let dataDir: string;

  beforeAll(async () => {
    buildEditor();
    dataDir = mkdtempSync(join(tmpdir(), 'uso-e2e-demo-'));
    writeDemoModels(dataDir);
    server = await startServerProcess({ dataDir });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    await page.goto(server.url);
    await waitForEditor(page);
  }, 900_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('opens on the default workflow with no missing nodes', async () => {
    const stats = await page.evaluate(() => (window as unknown as { usoEditor: EditorHandle }).usoEditor.editor.stats());
    expect(stats.nodes).toBeGreaterThan(0);
    expect(await appIn<string[]>(page, 'missingNodeTypes')).toEqual([]);
    await shot(page, '12-default-workflow');
  });

  it('queues the default workflow and shows progress and the output image', async () => {
    await page.click('[data-testid="queue-button"]');
    // Finished, or refused: a refusal (validation, conversion) fails at once instead of waiting out the timeout.
    await page.waitForFunction(() => {
      const app = (window as unknown as { usoEditor: { app: { execution: { lastFinished: unknown }; validation: unknown; toasts: { kind: string }[] } } }).usoEditor.app;
      return app.execution.lastFinished !== null || app.validation !== null || app.toasts.some((t) => t.kind === 'error');
    }, null, { timeout: 600_000, polling: 250 });
    const validation = await appIn<unknown>(page, 'validation');
    const toasts = await appIn<{ text: string }[]>(page, 'toasts');
    expect(validation, JSON.stringify(validation)).toBeNull();
    expect(toasts.map((t) => t.text)).toEqual([]);
    await shot(page, '13-default-finished');
    const counts = await page.evaluate(() => (window as unknown as { usoEditor: { controller: { messageCounts: Record<string, number> } } }).usoEditor.controller.messageCounts);
    expect(counts.progress ?? 0, 'sampler progress messages').toBeGreaterThan(0);
    expect(counts.executed ?? 0, 'executed messages').toBeGreaterThan(0);
    const execution = await appIn<{ lastFinished: { status: string }; error: unknown; gallery: unknown[] }>(page, 'execution');
    expect(execution.error).toBeNull();
    expect(execution.lastFinished.status).toBe('success');
    expect(execution.gallery.length).toBeGreaterThan(0);
    await page.click('[data-testid="panel-gallery"]');
    await page.waitForFunction(() => {
      const el = document.querySelector('[data-testid="gallery-image"]') as HTMLImageElement | null;
      return !!el && el.complete && el.naturalWidth > 0;
    }, null, { timeout: 10_000 });
    await shot(page, '14-default-output');
  }, 900_000);

  it('shows the seed proxied from inside a subgraph on its node, queues an edit of it and steps it after the queue', async () => {
    const workflow = JSON.parse(readFileSync(join(REPO_ROOT, 'workflows/uso-template-subgraphs.json'), 'utf8')) as unknown;
    const shown = await page.evaluate((wf) => {
      const { controller, editor } = (window as unknown as { usoEditor: { controller: any; editor: any } }).usoEditor;
      controller.loadWorkflow(wf, 'uso-template-subgraphs');
      const node = editor.graph.getNodeById(25);
      const seed = node.widgets.find((w: any) => w.name === 'seed');
      const control = node.widgets.find((w: any) => w.name === 'control_after_generate');
      const before = seed.value;
      // As the canvas widgets do on an edit: set the value, then call back.
      seed.value = 4242;
      seed.callback(4242);
      control.value = 'increment';
      control.callback('increment');
      editor.fitView();
      return { names: node.widgets.map((w: any) => w.name), before };
    }, workflow);
    expect(shown.names).toEqual(['text', 'width', 'height', 'seed', 'control_after_generate']);
    expect(shown.before).toBe(1058487910949722);
    await shot(page, '15-proxy-seed');
    const request = page.waitForRequest((r) => r.url().endsWith('/api/prompt') && r.method() === 'POST');
    await page.click('[data-testid="queue-button"]');
    const sent = await request;
    const body = sent.postDataJSON() as { prompt: Record<string, { inputs: { seed?: unknown } }> };
    // core's uiToApi read the inner KSampler's widget, which the proxy wrote.
    expect(body.prompt['25:20']?.inputs.seed).toBe(4242);
    const promptId = ((await (await sent.response())!.json()) as { prompt_id: string }).prompt_id;
    await page.waitForFunction((id) => {
      const app = (window as unknown as { usoEditor: { app: { execution: { lastFinished: { promptId: string } | null } } } }).usoEditor.app;
      return app.execution.lastFinished?.promptId === id;
    }, promptId, { timeout: 600_000, polling: 250 });
    const execution = await appIn<{ lastFinished: { status: string } }>(page, 'execution');
    expect(execution.lastFinished.status).toBe('success');
    // The proxied control stepped the inner seed once after the queue; the node shows it.
    const after = await page.evaluate(() => {
      const { editor } = (window as unknown as { usoEditor: { editor: any } }).usoEditor;
      const seed = editor.graph.getNodeById(25).widgets.find((w: any) => w.name === 'seed').value;
      const saved = editor.serialize();
      const inner = saved.definitions.subgraphs.flatMap((s: any) => s.nodes).find((n: any) => n.type === 'KSampler');
      return { seed, inner: inner.widgets_values[0], proxyWidgets: saved.nodes.find((n: any) => n.id === 25).properties.proxyWidgets };
    });
    expect(after.seed).toBe(4243);
    expect(after.inner).toBe(4243);
    expect(after.proxyWidgets).toEqual((workflow as { nodes: { id: number; properties?: { proxyWidgets?: unknown } }[] }).nodes.find((n) => n.id === 25)!.properties!.proxyWidgets);
  }, 900_000);
});

