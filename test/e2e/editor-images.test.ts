/**
 * End-to-end tests for pictures on nodes (issue 13), in Debian's Chromium against a real server with the demo models:
 * the mask editor on LoadImage (painted, saved through /upload/mask, loaded back and queued), Open / Save / Copy
 * Image from a node's menu, and the live preview drawn on the sampler node itself while it runs. Screenshots go to
 * test/e2e/screenshots (names starting `i`).
 */
import { createRequire } from 'node:module';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
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
declare const navigator: any;

// sharp belongs to the image nodes' package; the repository root depends on neither it nor its types, so the few
// calls used here are typed by hand.
interface SharpImage {
  png(): SharpImage;
  raw(): SharpImage;
  toBuffer(options: { resolveWithObject: true }): Promise<{ data: Buffer; info: { width: number; height: number; channels: number } }>;
  toBuffer(): Promise<Buffer>;
  metadata(): Promise<{ width?: number; height?: number }>;
}
type Sharp = (input: Buffer, options?: { raw: { width: number; height: number; channels: 3 | 4 } }) => SharpImage;
const sharp = createRequire(join(REPO_ROOT, 'nodes/image/package.json'))('sharp') as Sharp;
const SHOTS = join(REPO_ROOT, 'test/e2e/screenshots');
const TEST_PACK = join(REPO_ROOT, 'packages/server/src/test-support/test-pack.ts');
const WIDTH = 96;
const HEIGHT = 64;

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`) });
}

/** Empties the canvas and sets the view to scale 1 at the origin, so node positions are predictable. */
async function freshCanvas(page: Page): Promise<void> {
  await page.evaluate(() => {
    const { editor } = window.usoEditor;
    editor.clear();
    editor.canvas.ds.scale = 1;
    editor.canvas.ds.offset[0] = 0;
    editor.canvas.ds.offset[1] = 0;
  });
}

/** The page position of a point in a node's body (fractions of its size). */
async function nodePoint(page: Page, nodeId: number, fx = 0.5, fy = 0.5): Promise<[number, number]> {
  return page.evaluate(({ nodeId, fx, fy }) => {
    const { editor } = window.usoEditor;
    const node = editor.graph.getNodeById(nodeId);
    const rect = editor.canvas.canvas.getBoundingClientRect();
    const [x, y] = editor.canvas.ds.convertOffsetToCanvas([node.pos[0] + node.size[0] * fx, node.pos[1] + node.size[1] * fy]);
    return [rect.left + x, rect.top + y];
  }, { nodeId, fx, fy }) as Promise<[number, number]>;
}

/** Right-clicks a node and picks `entry` from its context menu. */
async function nodeMenu(page: Page, nodeId: number, entry: string): Promise<void> {
  const [x, y] = await nodePoint(page, nodeId, 0.5, 0.15);
  await page.mouse.click(x, y, { button: 'right' });
  await page.locator('.litemenu-entry', { hasText: entry }).first().click();
}

describe('pictures on nodes, against a real server with the demo models', () => {
  let server: ServerProcess;
  let browser: Browser;
  let page: Page;
  let dataDir: string;
  let original: Buffer;

  beforeAll(async () => {
    buildEditor();
    dataDir = mkdtempSync(join(tmpdir(), 'uso-e2e-images-'));
    writeDemoModels(dataDir);
    server = await startServerProcess({ dataDir, extraPacks: [TEST_PACK] });
    // An opaque picture with a left-to-right red ramp, to see that the mask keeps its colours.
    const rgb = Buffer.alloc(WIDTH * HEIGHT * 3);
    for (let y = 0; y < HEIGHT; y++) for (let x = 0; x < WIDTH; x++) rgb.set([x * 2, 40, 200], (y * WIDTH + x) * 3);
    original = await sharp(rgb, { raw: { width: WIDTH, height: HEIGHT, channels: 3 } }).png().toBuffer();
    const form = new FormData();
    form.append('image', new Blob([original], { type: 'image/png' }), 'photo.png');
    const up = await fetch(`${server.url}/api/upload/image`, { method: 'POST', body: form, headers: { origin: server.url } });
    expect(up.ok, `upload failed: ${up.status}`).toBe(true);
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, acceptDownloads: true });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
    page = await context.newPage();
    await page.goto(server.url);
    await waitForEditor(page);
    await page.waitForSelector('[data-testid="connection"][data-state="open"]');
  }, 900_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('paints a mask on LoadImage in the mask editor, saves it through /upload/mask and queues the masked picture', async () => {
    await freshCanvas(page);
    const ids = await page.evaluate(() => {
      const { editor } = window.usoEditor;
      const load = editor.addNode('LoadImage', [60, 60]);
      editor.setInputImage(load, 'photo.png');
      const save = editor.addNode('SaveImage', [460, 60]);
      load.connect(0, save, 0);
      return { load: load.id, save: save.id };
    }) as { load: number; save: number };
    await page.waitForFunction((id) => {
      const node = window.usoEditor.editor.graph.getNodeById(id);
      return node.widgets[0].value === 'photo.png';
    }, ids.load);
    await nodeMenu(page, ids.load, 'Open in MaskEditor');
    const canvas = page.locator('[data-testid="mask-canvas"]');
    await canvas.waitFor();
    // A horizontal stroke across the middle of the picture with a small brush.
    await page.locator('[data-testid="mask-brush-size"]').fill('6');
    const box = (await canvas.boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.2, box.y + box.height * 0.5);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.8, box.y + box.height * 0.5, { steps: 8 });
    await page.mouse.up();
    await shot(page, 'i01-mask-editor');
    await page.click('[data-testid="mask-save"]');
    await page.locator('[data-testid="mask-editor"]').waitFor({ state: 'detached' });

    const name = await page.evaluate((id) => window.usoEditor.editor.graph.getNodeById(id).widgets[0].value, ids.load) as string;
    expect(name).toMatch(/^clipspace\/clipspace-mask-\d+\.png \[input\]$/);
    const file = name.replace(/ \[input\]$/, '').split('/');
    const stored = await fetch(`${server.url}/view?filename=${encodeURIComponent(file[1]!)}&subfolder=clipspace&type=input`);
    expect(stored.status).toBe(200);
    const { data, info } = await sharp(Buffer.from(await stored.arrayBuffer())).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height, info.channels]).toEqual([WIDTH, HEIGHT, 4]);
    const at = (x: number, y: number) => Array.from(data.subarray((y * WIDTH + x) * 4, (y * WIDTH + x) * 4 + 4));
    // Painted: transparent (LoadImage reads mask 1 there); untouched: opaque; the colours are the original's.
    expect(at(WIDTH / 2, HEIGHT / 2)[3]).toBe(0);
    expect(at(WIDTH / 2, 2)[3]).toBe(255);
    expect(at(2, HEIGHT - 2)[3]).toBe(255);
    expect(at(WIDTH / 2, 2).slice(0, 3)).toEqual([WIDTH, 40, 200]);

    // Reopened, the editor starts from the stored mask.
    await nodeMenu(page, ids.load, 'Open in MaskEditor');
    await canvas.waitFor();
    const masked = await page.evaluate(() => {
      const view = document.querySelector('[data-testid="mask-canvas"]');
      const ctx = view.getContext('2d');
      const mid = Array.from(ctx.getImageData(view.width / 2, view.height / 2, 1, 1).data);
      const top = Array.from(ctx.getImageData(view.width / 2, 2, 1, 1).data);
      return { mid, top };
    }) as { mid: number[]; top: number[] };
    // The mask is drawn dark over the picture; the unmasked top row keeps the picture's blue.
    expect(masked.mid[2]!).toBeLessThan(masked.top[2]! / 2);
    await page.keyboard.press('Escape');
    await page.locator('[data-testid="mask-editor"]').waitFor({ state: 'detached' });

    // The annotated name validates and runs.
    const [promptId] = await page.evaluate(() => window.usoEditor.controller.queue()) as string[];
    expect(await page.evaluate(() => window.usoEditor.app.validation)).toBeNull();
    await page.waitForFunction((id) => window.usoEditor.app.execution.lastFinished?.promptId === id, promptId, { timeout: 60_000 });
    expect(await page.evaluate(() => window.usoEditor.app.execution.lastFinished.status)).toBe('success');
  }, 120_000);

  it('opens, saves and copies a node\'s image from its menu', async () => {
    // The previous test left a finished LoadImage -> SaveImage graph; SaveImage shows its output.
    const saveId = await page.evaluate(() => window.usoEditor.editor.graph._nodes.find((n: any) => n.type === 'SaveImage').id) as number;
    const history = await (await fetch(`${server.url}/history`)).json() as Record<string, { outputs: Record<string, { images: { filename: string; subfolder: string; type: string }[] }> }>;
    const outputs = Object.values(history).flatMap((h) => Object.values(h.outputs).flatMap((o) => o.images ?? []));
    const last = outputs.at(-1)!;
    const expected = Buffer.from(await (await fetch(`${server.url}/view?filename=${encodeURIComponent(last.filename)}&subfolder=${last.subfolder}&type=output`)).arrayBuffer());

    const download = page.waitForEvent('download');
    await nodeMenu(page, saveId, 'Save Image');
    const file = await download;
    expect(file.suggestedFilename()).toBe(last.filename);
    expect(readFileSync((await file.path())!).equals(expected)).toBe(true);

    await page.evaluate(() => navigator.clipboard.writeText('nothing yet'));
    await nodeMenu(page, saveId, 'Copy Image');
    // The editor says so once the clipboard write has finished.
    await page.waitForFunction(() => window.usoEditor.app.toasts.some((t: any) => t.text === 'Image copied to the clipboard'), null, { timeout: 10_000 });
    const copied = await page.evaluate(async () => {
      const items = await navigator.clipboard.read();
      const item = items.find((i: any) => i.types.includes('image/png'));
      if (!item) return items.map((i: any) => i.types);
      const bitmap = await window.createImageBitmap(await item.getType('image/png'));
      return [bitmap.width, bitmap.height];
    });
    const meta = await sharp(expected).metadata();
    expect(copied).toEqual([meta.width, meta.height]);

    const popup = page.context().waitForEvent('page');
    await nodeMenu(page, saveId, 'Open Image');
    const opened = await popup;
    await opened.waitForLoadState();
    const url = new URL(opened.url());
    expect(url.pathname).toMatch(/\/view$/);
    expect(url.searchParams.get('filename')).toBe(last.filename);
    expect(url.searchParams.has('preview')).toBe(false);
    await opened.close();
  }, 60_000);

  it('draws the live preview on the sampler node itself while it runs', async () => {
    const workflow = JSON.parse(readFileSync(join(REPO_ROOT, 'workflows/uso-text-only.json'), 'utf8')) as unknown;
    const samplerId = await page.evaluate((wf) => {
      const { controller, editor } = window.usoEditor;
      controller.loadWorkflow(wf, 'uso-text-only');
      const sampler = editor.graph._nodes.find((n: any) => n.type === 'KSampler');
      // Enough steps that the run is still going while the test looks at the node.
      sampler.widgets.find((w: any) => w.name === 'steps').value = 400;
      const latent = editor.graph._nodes.find((n: any) => n.type === 'EmptyLatentImage');
      latent.widgets.find((w: any) => w.name === 'width').value = 256;
      latent.widgets.find((w: any) => w.name === 'height').value = 256;
      editor.canvas.ds.scale = 1;
      editor.canvas.ds.offset[0] = 40 - sampler.pos[0];
      editor.canvas.ds.offset[1] = 60 - sampler.pos[1];
      return sampler.id;
    }, workflow) as number;
    const before = await page.evaluate((id) => window.usoEditor.editor.graph.getNodeById(id).size[1], samplerId) as number;
    const [promptId] = await page.evaluate(() => window.usoEditor.controller.queue()) as string[];
    expect(promptId).toBeTruthy();
    // The node grows to make room and draws the preview frames under its widgets: the area below the widgets, one
    // flat colour before, shows a picture.
    await page.waitForFunction(({ id, before }) => {
      const { editor } = window.usoEditor;
      const node = editor.graph.getNodeById(id);
      if (node.size[1] < before + 100) return false;
      editor.drawFrame();
      const ratio = editor.pixelRatio;
      const [x0, y0] = editor.canvas.ds.convertOffsetToCanvas([node.pos[0] + 20, node.pos[1] + node.size[1] - 150]);
      const ctx = editor.canvas.canvas.getContext('2d');
      const data = ctx.getImageData(Math.round(x0 * ratio), Math.round(y0 * ratio), Math.round((node.size[0] - 40) * ratio), Math.round(120 * ratio)).data;
      const colours = new Set<number>();
      for (let i = 0; i < data.length; i += 16) colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
      return colours.size > 20;
    }, { id: samplerId, before }, { timeout: 120_000, polling: 200 });
    // Still running: the preview is live, not the end result.
    expect(await page.evaluate(() => window.usoEditor.app.execution.promptId)).toBe(promptId);
    await shot(page, 'i02-sampler-live-preview');
    await page.evaluate(() => window.usoEditor.controller.interrupt());
    await page.waitForFunction((id) => window.usoEditor.app.execution.lastFinished?.promptId === id, promptId, { timeout: 60_000 });
  }, 180_000);
});
