/**
 * End-to-end tests for workflow tabs, the Workflows sidebar (ComfyUI's /userdata/workflows on the server) and no lost
 * work, in Debian's Chromium against a real USO Studio server process with the demo models. Two browser contexts
 * stand for two browsers sharing the server. Screenshots go to test/e2e/screenshots (names starting `w`).
 */
import { mkdtempSync, rmSync } from 'node:fs';
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
const VIEWPORT = { width: 1400, height: 900 };

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`) });
}

interface TabInfo { name: string; modified: boolean; active: boolean }

/** The tab bar as the user sees it. */
async function tabsOf(page: Page): Promise<TabInfo[]> {
  return page.$$eval('[data-testid="workflow-tab"]', (els: any[]) => els.map((el) => ({
    name: el.dataset.name, modified: el.dataset.modified === 'true', active: el.classList.contains('active'),
  })));
}

/** The graph on the canvas as `id:type` per node (sorted) and its link count. */
async function graphOf(page: Page): Promise<{ nodes: string[]; links: number }> {
  return page.evaluate(() => {
    const wf = window.usoEditor.editor.serialize();
    return { nodes: wf.nodes.map((n: any) => `${n.id}:${n.type}`).sort(), links: wf.links.length };
  });
}

/** A settled edit, as a pointer-up after adding a node would make it. */
async function addNote(page: Page, text: string, at: [number, number] = [40, 40]): Promise<void> {
  await page.evaluate(({ text, at }) => {
    const { editor, controller } = window.usoEditor;
    const node = editor.addNode('Note', at);
    node.widgets[0].value = text;
    controller.checkpoint();
  }, { text, at });
}

async function focusCanvas(page: Page): Promise<void> {
  await page.evaluate(() => document.querySelector('[data-testid="graph-canvas"]').focus());
}

async function clickTab(page: Page, name: string): Promise<void> {
  await page.locator(`[data-testid="workflow-tab"][data-name="${name}"] button[role="tab"]`).click();
  await page.waitForFunction((n) => window.usoEditor.app.workflowName === n, name);
}

/** Answers the dialog on screen and waits until it is gone (another question may follow it). */
async function answerDialog(page: Page, value: string, text?: string): Promise<void> {
  await page.waitForSelector(`[data-testid="dialog-${value}"]`);
  const id = await page.evaluate(() => window.usoEditor.app.dialog.id);
  if (text !== undefined) await page.fill('[data-testid="dialog-input"]', text);
  await page.click(`[data-testid="dialog-${value}"]`);
  await page.waitForFunction((shown) => window.usoEditor.app.dialog?.id !== shown, id);
}

describe('workflow tabs and the Workflows sidebar, against a real server with the demo models', () => {
  let server: ServerProcess;
  let browser: Browser;
  let page: Page;
  let dataDir: string;

  const userdata = (path: string) => fetch(`${server.url}/api/userdata/${encodeURIComponent(path)}`);

  beforeAll(async () => {
    buildEditor();
    dataDir = mkdtempSync(join(tmpdir(), 'uso-e2e-workflows-'));
    writeDemoModels(dataDir);
    server = await startServerProcess({ dataDir });
    browser = await launchChromium();
    page = await (await browser.newContext({ viewport: VIEWPORT })).newPage();
    await page.goto(server.url);
    await waitForEditor(page);
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('opens a template and New in new tabs, marks unsaved changes, asks before closing a changed tab, and keeps the tabs over a reload', async () => {
    const first = (await tabsOf(page))[0]!;
    expect(await tabsOf(page)).toEqual([{ name: first.name, modified: false, active: true }]);
    await addNote(page, 'my edit');
    await page.waitForSelector('[data-testid="tab-modified"]');
    const mine = await graphOf(page);
    // A template opens beside it; the changed graph stays in its own tab.
    await page.click('[data-testid="menu-templates"]');
    const other = page.locator('.dropdown button').filter({ hasNotText: first.name }).first();
    const templateName = (await other.textContent())!.trim();
    await other.click();
    await page.waitForFunction((n) => window.usoEditor.app.workflowName === n, templateName);
    expect(await tabsOf(page)).toEqual([{ name: first.name, modified: true, active: false }, { name: templateName, modified: false, active: true }]);
    expect(await graphOf(page)).not.toEqual(mine);
    await shot(page, 'w01-template-in-new-tab');
    await clickTab(page, first.name);
    expect(await graphOf(page)).toEqual(mine);
    // Each tab undoes its own edits.
    await focusCanvas(page);
    await page.keyboard.press('Control+z');
    expect((await graphOf(page)).nodes.length).toBe(mine.nodes.length - 1);
    await page.keyboard.press('Control+y');
    expect(await graphOf(page)).toEqual(mine);
    // Closing the changed tab asks; Cancel keeps it.
    await page.locator(`[data-testid="workflow-tab"][data-name="${first.name}"] [data-testid="tab-close"]`).click();
    await page.waitForSelector('[data-testid="dialog"]');
    expect(await page.textContent('[data-testid="dialog"]')).toContain('unsaved changes');
    await shot(page, 'w02-close-changed-tab');
    await answerDialog(page, 'cancel');
    expect((await tabsOf(page)).length).toBe(2);
    expect(await graphOf(page)).toEqual(mine);
    // New opens an empty tab; an edit there is kept over a reload together with the other tabs.
    await page.click('[data-testid="tab-new"]');
    await page.waitForFunction(() => window.usoEditor.app.tabs.length === 3);
    expect(await graphOf(page)).toEqual({ nodes: [], links: 0 });
    await addNote(page, 'in the new tab');
    const fresh = await graphOf(page);
    const before = await tabsOf(page);
    await page.reload();
    await waitForEditor(page);
    expect(await tabsOf(page)).toEqual(before);
    expect(await graphOf(page)).toEqual(fresh);
    await clickTab(page, first.name);
    expect(await graphOf(page)).toEqual(mine);
    await shot(page, 'w03-tabs-after-reload');
    // Close without saving drops it.
    await page.locator(`[data-testid="workflow-tab"][data-name="${first.name}"] [data-testid="tab-close"]`).click();
    await answerDialog(page, 'discard');
    expect((await tabsOf(page)).map((t) => t.name)).toEqual(before.slice(1).map((t) => t.name));
  }, 90_000);

  it('saves with Ctrl+S to the server (asking for a name the first time), and another browser opens, renames and deletes it from the sidebar', async () => {
    await page.click('[data-testid="tab-new"]');
    await page.waitForFunction(() => window.usoEditor.app.tabs.length === 3);
    await addNote(page, 'saved on the server', [60, 60]);
    await addNote(page, 'second note', [60, 300]);
    // The shortcut acts from a text field too (the batch count had the focus in the flaky download test).
    await page.focus('[data-testid="batch-count"]');
    await page.keyboard.press('Control+s');
    await page.waitForSelector('[data-testid="dialog-input"]');
    await shot(page, 'w04-save-name');
    await answerDialog(page, 'ok', 'portraits/style test');
    const path = 'workflows/portraits/style test.json';
    await page.waitForFunction(() => window.usoEditor.app.workflowName === 'portraits/style test');
    expect((await tabsOf(page)).find((t) => t.active)).toEqual({ name: 'portraits/style test', modified: false, active: true });
    const saved = (await (await userdata(path)).json()) as { nodes: { type: string; widgets_values: unknown[] }[] };
    expect(saved.nodes.map((n) => n.widgets_values[0])).toEqual(['saved on the server', 'second note']);
    // A named workflow saves in place, without a question.
    await addNote(page, 'third note', [600, 60]);
    expect((await tabsOf(page)).find((t) => t.active)?.modified).toBe(true);
    await focusCanvas(page);
    await page.keyboard.press('Control+s');
    await page.waitForFunction(() => !window.usoEditor.app.tabs.find((t: any) => t.id === window.usoEditor.app.activeTab).modified);
    expect(await page.locator('[data-testid="dialog"]').count()).toBe(0);
    const resaved = (await (await userdata(path)).json()) as { nodes: unknown[] };
    expect(resaved.nodes.length).toBe(3);
    const graphA = await graphOf(page);

    // Another browser (its own storage) finds it in the Workflows sidebar and opens the same graph.
    const other = await (await browser.newContext({ viewport: VIEWPORT })).newPage();
    try {
      await other.goto(server.url);
      await waitForEditor(other);
      await other.click('[data-testid="sidebar-tab-workflows"]');
      const entry = other.locator(`[data-testid="saved-workflow"][data-path="${path}"]`);
      await entry.waitFor();
      await entry.locator('[data-testid="saved-open"]').click();
      await other.waitForFunction(() => window.usoEditor.app.workflowName === 'portraits/style test');
      expect(await graphOf(other)).toEqual(graphA);
      await shot(other, 'w05-opened-in-other-browser');
      // Rename there.
      await entry.locator('[data-testid="saved-rename"]').click();
      await answerDialog(other, 'ok', 'renamed');
      await other.locator('[data-testid="saved-workflow"][data-path="workflows/renamed.json"]').waitFor();
      expect((await userdata(path)).status).toBe(404);
      expect((await userdata('workflows/renamed.json')).status).toBe(200);
      expect((await tabsOf(other)).find((t) => t.active)?.name).toBe('renamed');
      // Save As under a new name, then onto a taken name (asks before overwriting).
      await other.click('[data-testid="menu-workflow"]');
      await other.click('[data-testid="menu-save-as"]');
      await answerDialog(other, 'ok', 'copy');
      await other.locator('[data-testid="saved-workflow"][data-path="workflows/copy.json"]').waitFor();
      await addNote(other, 'only in the copy', [600, 300]);
      await other.click('[data-testid="workflows-save-as"]');
      await answerDialog(other, 'ok', 'renamed');
      await other.waitForSelector('[data-testid="dialog-overwrite"]');
      await shot(other, 'w06-overwrite');
      await answerDialog(other, 'overwrite');
      await other.waitForFunction(() => window.usoEditor.app.workflowName === 'renamed');
      expect(((await (await userdata('workflows/renamed.json')).json()) as { nodes: unknown[] }).nodes.length).toBe(4);
      // Delete the open one: asks, removes the file; its tab keeps the graph as an unsaved workflow.
      const kept = await graphOf(other);
      await other.locator('[data-testid="saved-workflow"][data-path="workflows/renamed.json"] [data-testid="saved-delete"]').click();
      await answerDialog(other, 'delete');
      await other.locator('[data-testid="saved-workflow"][data-path="workflows/renamed.json"]').waitFor({ state: 'detached' });
      expect((await userdata('workflows/renamed.json')).status).toBe(404);
      expect((await tabsOf(other)).find((t) => t.active)).toEqual({ name: 'renamed', modified: true, active: true });
      expect(await graphOf(other)).toEqual(kept);
      await shot(other, 'w07-after-delete');
    } finally {
      await other.context().close();
    }
    // The first browser sees the other's changes on refresh.
    await page.click('[data-testid="sidebar-tab-workflows"]');
    await page.getByRole('button', { name: 'Refresh' }).click();
    await page.locator('[data-testid="saved-workflow"][data-path="workflows/copy.json"]').waitFor();
    expect(await page.locator('[data-testid="saved-workflow"]').evaluateAll((els: any[]) => els.map((e) => e.dataset.path))).toEqual(['workflows/copy.json']);
  }, 90_000);

  it('keeps settings on the server (Ctrl+, opens them): link render mode, snap to grid, preview method and a rebound shortcut, after a reload too', async () => {
    await focusCanvas(page);
    await page.keyboard.press('Control+,');
    await page.waitForSelector('[data-testid="settings-dialog"]');
    const canvasState = () => page.evaluate(() => {
      const { editor } = window.usoEditor;
      return { links: editor.canvas.links_render_mode, offset: [...editor.canvas.ds.offset] };
    }) as Promise<{ links: number; offset: number[] }>;
    expect((await canvasState()).links).toBe(2);
    await page.selectOption('[data-testid="setting-Comfy.LinkRenderMode"] select', '0');
    await page.waitForFunction(() => window.usoEditor.editor.canvas.links_render_mode === 0);
    await page.check('[data-testid="setting-pysssss.SnapToGrid"] input');
    await page.fill('[data-testid="setting-Comfy.SnapToGrid.GridSize"] input', '25');
    await page.press('[data-testid="setting-Comfy.SnapToGrid.GridSize"] input', 'Tab');
    await page.selectOption('[data-testid="setting-Comfy.Execution.PreviewMethod"] select', 'none');
    // Fit view from '.' to Alt+F.
    const fitRow = page.locator('[data-testid="keybinding-Comfy.Canvas.FitView"]');
    expect(await fitRow.locator('[data-testid="keybinding-combos"]').textContent()).toContain('.');
    await fitRow.locator('[data-testid="keybinding-change"]').click();
    await page.keyboard.press('Alt+f');
    await page.waitForFunction(() => document.querySelector('[data-testid="keybinding-Comfy.Canvas.FitView"] [data-testid="keybinding-combos"]')?.textContent.trim() === 'Alt+F');
    await page.waitForFunction(() => window.usoEditor.app.settings['Comfy.Execution.PreviewMethod'] === 'none' && window.usoEditor.app.settings['Comfy.SnapToGrid.GridSize'] === 25);
    await shot(page, 'w08-settings');
    const stored = (await (await fetch(`${server.url}/api/settings`)).json()) as Record<string, unknown>;
    expect(stored).toMatchObject({
      'Comfy.LinkRenderMode': 0, 'pysssss.SnapToGrid': true, 'Comfy.SnapToGrid.GridSize': 25, 'Comfy.Execution.PreviewMethod': 'none',
      'Comfy.Keybinding.NewBindings': [{ commandId: 'Comfy.Canvas.FitView', combo: { key: 'f', alt: true } }],
      'Comfy.Keybinding.UnsetBindings': [{ commandId: 'Comfy.Canvas.FitView', combo: { key: '.' } }],
    });
    await page.keyboard.press('Escape');
    await page.waitForSelector('[data-testid="settings-dialog"]', { state: 'detached' });

    // After a reload everything is still in force.
    await page.reload();
    await waitForEditor(page);
    await page.waitForFunction(() => window.usoEditor.editor.canvas.links_render_mode === 0);
    // Snapping: a node dragged by its title lands on the 25 grid.
    await page.click('[data-testid="tab-new"]');
    const start = await page.evaluate(() => {
      const { editor } = window.usoEditor;
      editor.canvas.ds.scale = 1;
      editor.canvas.ds.offset[0] = 0;
      editor.canvas.ds.offset[1] = 0;
      editor.addNode('Note', [133, 147]);
      const rect = editor.canvas.canvas.getBoundingClientRect();
      editor.drawFrame();
      return [rect.left + 133 + 60, rect.top + 147 - 15];
    }) as [number, number];
    await page.mouse.move(start[0], start[1]);
    await page.mouse.down();
    await page.mouse.move(start[0] + 20, start[1] + 20, { steps: 4 });
    await page.mouse.move(start[0] + 41, start[1] + 38, { steps: 4 });
    await page.mouse.up();
    const pos = (await page.evaluate(() => [...window.usoEditor.editor.serialize().nodes[0].pos])) as number[];
    expect(pos.map((v) => v % 25)).toEqual([0, 0]);
    expect(pos).not.toEqual([133, 147]);
    // The rebound shortcut: '.' no longer fits the view, Alt+F does.
    await page.evaluate(() => { window.usoEditor.editor.canvas.ds.offset[0] = 5000; });
    await focusCanvas(page);
    await page.keyboard.press('.');
    expect((await canvasState()).offset[0]).toBe(5000);
    await page.keyboard.press('Alt+f');
    expect((await canvasState()).offset[0]).not.toBe(5000);
    // The prompt asks for the preview method chosen ('none').
    const [request] = await Promise.all([
      page.waitForRequest((r) => r.method() === 'POST' && new URL(r.url()).pathname === '/api/prompt'),
      page.keyboard.press('Control+Enter'),
    ]);
    expect((request.postDataJSON() as { extra_data: { preview_method?: string } }).extra_data.preview_method).toBe('none');
    await shot(page, 'w09-settings-after-reload');
  }, 90_000);
});
