/**
 * End-to-end tests for the defects of issue 13, in Debian's Chromium against a real USO Studio server process with
 * the server's test pack: how muted and bypassed nodes look, the canvas border at the origin, Ctrl+Alt+Enter, overall
 * progress and the tab title and favicon, queue and history labels, replacing the graph without losing it, the
 * gallery lightbox, the front end's nodes in the search, and what the page asks the server for. Each test failed
 * before its fix. Screenshots go to test/e2e/screenshots (names starting `d`).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  REPO_ROOT, buildEditor, launchChromium, startServerProcess, waitForEditor,
  type Browser, type Page, type ServerProcess,
} from '../../packages/editor/test-support/browser.ts';

// Functions handed to page.evaluate run in the browser; the repository's type check has no DOM library.
declare const window: any;
declare const document: any;
declare const DataTransfer: any;
declare const DragEvent: any;
declare const File: any;

const SHOTS = join(REPO_ROOT, 'test/e2e/screenshots');
const TEST_PACK = join(REPO_ROOT, 'packages/server/src/test-support/test-pack.ts');

type Rgb = [number, number, number];

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`) });
}

/** Empties the canvas and sets the view to scale 1 with the graph origin at `offset`, so positions are predictable. */
async function freshCanvas(page: Page, offset: [number, number] = [0, 0]): Promise<void> {
  await page.evaluate((o) => {
    const { editor } = window.usoEditor;
    editor.clear();
    editor.canvas.ds.scale = 1;
    editor.canvas.ds.offset[0] = o[0];
    editor.canvas.ds.offset[1] = o[1];
  }, offset);
}

/** Draws a frame now and reads canvas pixels at CSS positions (canvas coordinates). */
async function pixels(page: Page, points: [number, number][]): Promise<Rgb[]> {
  return page.evaluate((pts) => {
    const { editor } = window.usoEditor;
    editor.drawFrame();
    const el = editor.canvas.canvas;
    const ratio = editor.pixelRatio;
    const ctx = el.getContext('2d');
    return pts.map(([x, y]: [number, number]) => Array.from(ctx.getImageData(Math.round(x * ratio), Math.round(y * ratio), 1, 1).data).slice(0, 3));
  }, points) as Promise<Rgb[]>;
}

const appState = <T>(page: Page, pick: string) => page.evaluate((p) => p.split('.').reduce((o: any, k: string) => o?.[k], window.usoEditor.app), pick) as Promise<T>;

/** A graph with one SrvSleep of `ms` in `steps` steps (selected nothing), for runs that last while a test acts. */
async function sleepGraph(page: Page, ms: number, steps: number): Promise<void> {
  await page.evaluate(({ ms, steps }) => {
    const { editor } = window.usoEditor;
    editor.clear();
    const sleep = editor.addNode('SrvSleep', [100, 100]);
    sleep.widgets.find((w: any) => w.name === 'ms').value = ms;
    sleep.widgets.find((w: any) => w.name === 'steps').value = steps;
  }, { ms, steps });
}

/** Moves focus to the canvas (out of any menu or text field), so shortcuts reach the editor. */
async function focusCanvas(page: Page): Promise<void> {
  await page.evaluate(() => document.querySelector('[data-testid="graph-canvas"]').focus());
}

describe('issue 13 defects, against a real server (test nodes)', () => {
  let server: ServerProcess;
  let browser: Browser;
  let page: Page;
  /** Every request the page made, as `METHOD path`. */
  const requests: string[] = [];
  /** Responses with status >= 400, as `status path`. */
  const failures: string[] = [];

  beforeAll(async () => {
    buildEditor();
    server = await startServerProcess({ extraPacks: [TEST_PACK] });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on('request', (r) => requests.push(`${r.method()} ${new URL(r.url()).pathname}`));
    page.on('response', (r) => { if (r.status() >= 400) failures.push(`${r.status()} ${new URL(r.url()).pathname}`); });
    await page.goto(server.url);
    await waitForEditor(page);
    await page.waitForSelector('[data-testid="connection"][data-state="open"]');
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('asks the server for nothing it lacks (no /api/workflows/default) and has a favicon', async () => {
    expect(requests).not.toContain('GET /api/workflows/default');
    expect(failures).toEqual([]);
    const icon = await page.evaluate(() => document.querySelector('link[rel="icon"]')?.href ?? null) as string | null;
    expect(icon).not.toBeNull();
    const res = await fetch(icon!);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('image/svg+xml');
  });

  it('draws muted nodes faded and bypassed nodes purple and faded, as ComfyUI does', async () => {
    await freshCanvas(page);
    const bodies = await page.evaluate(() => {
      const { editor } = window.usoEditor;
      return [0, 2, 4].map((mode, i) => {
        const node = editor.addNode('SrvSaveImage', [60 + i * 320, 120]);
        node.mode = mode;
        // A point in the node's body below its widgets.
        return [node.pos[0] + node.size[0] / 2, node.pos[1] + node.size[1] - 8];
      });
    }) as [number, number][];
    await page.evaluate(() => window.usoEditor.editor.canvas.deselectAll());
    const [active, muted, bypassed] = await pixels(page, bodies);
    await shot(page, 'd01-node-modes');
    const grey = (c: Rgb) => Math.max(...c) - Math.min(...c) <= 6;
    const light = (c: Rgb) => (c[0] + c[1] + c[2]) / 3;
    expect(grey(active!), `active body ${active}`).toBe(true);
    // Muted: the same grey, faded towards the darker background.
    expect(grey(muted!), `muted body ${muted}`).toBe(true);
    expect(Math.abs(light(muted!) - light(active!)), `muted ${muted} vs active ${active}`).toBeGreaterThan(4);
    // Bypassed: purple (red and blue well above green).
    expect(bypassed![0] - bypassed![1], `bypassed body ${bypassed}`).toBeGreaterThan(15);
    expect(bypassed![2] - bypassed![1], `bypassed body ${bypassed}`).toBeGreaterThan(15);
  });

  it('draws no dark rectangle at the graph origin on an empty graph', async () => {
    await freshCanvas(page, [100, 100]);
    // litegraph's canvas border would be a #235 line along y = 100 and x = 100 from the origin on.
    const row = Array.from({ length: 40 }, (_, i) => [200 + i * 10, 100] as [number, number]);
    const column = Array.from({ length: 40 }, (_, i) => [100, 200 + i * 10] as [number, number]);
    const around = [...row, ...row.map(([x, y]) => [x, y - 1] as [number, number]), ...column, ...column.map(([x, y]) => [x - 1, y] as [number, number])];
    const bluish = (await pixels(page, around)).filter((c) => c[2] - c[0] > 12);
    await shot(page, 'd02-empty-origin');
    expect(bluish).toEqual([]);
  });

  it('offers Reroute and Note in the search', async () => {
    await freshCanvas(page);
    for (const [query, type] of [['reroute', 'Reroute'], ['note', 'Note']] as const) {
      await page.mouse.dblclick(500 + (type === 'Note' ? 200 : 0), 400);
      await page.waitForSelector('[data-testid="node-search"] input');
      await page.keyboard.type(query);
      await page.keyboard.press('Enter');
      await page.waitForSelector('[data-testid="node-search"]', { state: 'detached' });
    }
    await shot(page, 'd03-reroute-note');
    const types = (await page.evaluate(() => window.usoEditor.editor.serialize().nodes.map((n: any) => n.type))) as string[];
    expect(types).toEqual(['Reroute', 'Note']);
  });

  it('shows a run started on an idle queue moving in the progress bar, the tab title and the favicon', async () => {
    await sleepGraph(page, 4000, 40);
    await focusCanvas(page);
    await page.keyboard.press('Control+Enter');
    // The overall progress is above 0% while the sleeping node steps (it stayed at 0% when execution_start came
    // before the POST's reply), and the tab shows it.
    await page.waitForFunction(() => /^\[([1-9]\d?)%\] USO Studio$/.test(document.title), null, { timeout: 15_000 });
    const favicon = (await page.evaluate(() => document.querySelector('link[rel="icon"]').href)) as string;
    expect(favicon.startsWith('data:image/svg+xml,')).toBe(true);
    const total = await appState<number>(page, 'execution.totalNodes');
    expect(total).toBe(1);
    await shot(page, 'd04-progress-title');
    await page.waitForFunction(() => window.usoEditor.app.execution.lastFinished?.status === 'success', null, { timeout: 30_000 });
    await page.waitForFunction(() => document.title === 'USO Studio', null, { timeout: 5_000 });
    expect(await page.evaluate(() => document.querySelector('link[rel="icon"]').getAttribute('href'))).toBe('favicon.svg');
  }, 60_000);

  it('interrupts with Ctrl+Alt+Enter instead of queueing another run; History shows it interrupted, not failed', async () => {
    await sleepGraph(page, 20_000, 200);
    await focusCanvas(page);
    const posts = () => requests.filter((r) => r === 'POST /api/prompt').length;
    const before = posts();
    await page.keyboard.press('Control+Enter');
    await page.waitForFunction(() => Object.keys(window.usoEditor.app.execution.nodeProgress).length > 0, null, { timeout: 15_000 });
    expect(posts()).toBe(before + 1);
    await page.keyboard.press('Control+Alt+Enter');
    await page.waitForFunction(() => window.usoEditor.app.execution.lastFinished?.status === 'interrupted', null, { timeout: 15_000 });
    expect(posts()).toBe(before + 1);
    await page.click('[data-testid="panel-history"]');
    const newest = page.locator('[data-testid="history-panel"] li').first();
    await page.waitForFunction(() => document.querySelector('[data-testid="history-panel"] li')?.getAttribute('data-outcome') === 'interrupted', null, { timeout: 10_000 });
    expect(await newest.evaluate((li: any) => li.classList.contains('error'))).toBe(false);
    expect(await newest.textContent()).not.toMatch(/#-?\d/);
    await shot(page, 'd05-history-interrupted');
  }, 60_000);

  it('labels runs queued at the front by their place in the queue, not by negative numbers', async () => {
    await sleepGraph(page, 20_000, 200);
    await page.click('[data-testid="panel-queue"]');
    await page.waitForSelector('[data-testid="queue-panel"]');
    await focusCanvas(page);
    await page.keyboard.press('Control+Enter');
    await page.waitForSelector('[data-testid="queue-running"]', { timeout: 15_000 });
    await page.keyboard.press('Control+Enter');
    await page.keyboard.press('Control+Shift+Enter');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="queue-pending"]').length === 2, null, { timeout: 15_000 });
    const text = (await page.locator('[data-testid="queue-panel"]').textContent()) ?? '';
    await shot(page, 'd06-queue-front');
    expect(text).not.toMatch(/#-\d/);
    expect(await page.locator('[data-testid="queue-pending-label"]').allTextContents()).toEqual(['Next 1', 'Next 2']);
    await page.click('[data-testid="queue-clear"]');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="queue-pending"]').length === 0, null, { timeout: 10_000 });
    await page.locator('[data-testid="queue-running"] button').click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="queue-running"]').length === 0, null, { timeout: 15_000 });
  }, 60_000);

  it('opens a template, New, a history item or a dropped workflow file in a new tab: the changed graph stays in its tab, where Ctrl+Z still works', async () => {
    const graphOf = () => page.evaluate(() => window.usoEditor.editor.serialize().nodes.map((n: any) => `${n.id}:${n.type}`).sort()) as Promise<string[]>;
    const tabCount = () => page.evaluate(() => window.usoEditor.app.tabs.length) as Promise<number>;
    await page.evaluate(() => {
      const { editor, controller } = window.usoEditor;
      editor.clear();
      editor.addNode('SrvSleep', [100, 100]);
      editor.addNode('SrvSaveImage', [420, 100]);
      controller.checkpoint();
      // An edit not yet checkpointed must survive too.
      editor.addNode('SrvAdd', [100, 400]);
    });
    const mine = await graphOf();
    const myTab = await appState<string>(page, 'activeTab');
    expect(mine).toHaveLength(3);
    const backToMine = async () => {
      await page.locator('[data-testid="workflow-tab"] button[role="tab"]').nth(await page.evaluate((id) => window.usoEditor.app.tabs.findIndex((t: any) => t.id === id), myTab) as number).click();
      await page.waitForFunction((id) => window.usoEditor.app.activeTab === id, myTab);
      expect(await graphOf()).toEqual(mine);
    };
    // A template from the menu.
    let tabs = await tabCount();
    await page.click('[data-testid="menu-templates"]');
    await page.locator('.dropdown button').first().click();
    await page.waitForFunction((n) => window.usoEditor.app.tabs.length === n, tabs + 1);
    expect(await graphOf()).not.toEqual(mine);
    await shot(page, 'd07-template-opened');
    await backToMine();
    // New from the Workflow menu.
    tabs = await tabCount();
    await page.click('[data-testid="menu-workflow"]');
    await page.getByRole('button', { name: 'New', exact: true }).click();
    expect(await tabCount()).toBe(tabs + 1);
    expect(await graphOf()).toEqual([]);
    await backToMine();
    // A history item (the earlier runs' workflows).
    tabs = await tabCount();
    await page.click('[data-testid="panel-history"]');
    await page.locator('[data-testid="history-item"]').first().click();
    await page.waitForFunction((n) => window.usoEditor.app.tabs.length === n, tabs + 1);
    await backToMine();
    // A workflow file dropped on the canvas.
    tabs = await tabCount();
    const dropped = await page.evaluate(() => {
      const wf = window.usoEditor.editor.serialize();
      wf.nodes = wf.nodes.slice(0, 1);
      wf.links = [];
      return JSON.stringify(wf);
    }) as string;
    await page.evaluate((text) => {
      const dt = new DataTransfer();
      dt.items.add(new File([text], 'dropped.json', { type: 'application/json' }));
      const target = document.querySelector('[data-testid="graph-canvas"]').parentElement;
      target.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
      target.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, dropped);
    await page.waitForFunction((n) => window.usoEditor.app.tabs.length === n, tabs + 1);
    expect(await appState<string>(page, 'workflowName')).toBe('dropped');
    expect(await graphOf()).toHaveLength(1);
    await backToMine();
    // Its own undo history: Ctrl+Z takes back the last edit of this graph.
    await focusCanvas(page);
    await page.keyboard.press('Control+z');
    expect(await graphOf()).toHaveLength(2);
    await shot(page, 'd08-undo-replaced');
  }, 60_000);

  it('fits workflows into the view on open at 1280x720, beside the side panel, not under it', async () => {
    const small = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    try {
      await small.goto(server.url);
      await waitForEditor(small);
      /** Nodes whose box (title included) is not wholly inside the canvas, which stops at the side panel. */
      const outside = () => small.evaluate(() => {
        const { editor } = window.usoEditor;
        const canvas = editor.canvas.canvas.getBoundingClientRect();
        const panel = document.querySelector('aside')?.getBoundingClientRect();
        const bad: string[] = [];
        for (const node of editor.graph.nodes) {
          const [x0, y0] = editor.canvas.ds.convertOffsetToCanvas([node.pos[0], node.pos[1] - 30]);
          const [x1, y1] = editor.canvas.ds.convertOffsetToCanvas([node.pos[0] + node.size[0], node.pos[1] + node.size[1]]);
          const inside = x0 >= 0 && y0 >= 0 && x1 <= canvas.width && y1 <= canvas.height;
          const underPanel = panel && canvas.left + x1 > panel.left;
          if (!inside || underPanel) bad.push(`${node.id}:${node.type}`);
        }
        return { bad, nodes: editor.graph.nodes.length };
      }) as Promise<{ bad: string[]; nodes: number }>;
      // The first start opens the default template.
      let seen = await outside();
      expect(seen.nodes).toBeGreaterThan(3);
      expect(seen.bad).toEqual([]);
      await small.screenshot({ path: join(SHOTS, 'd10-fit-1280-default.png') });
      // Another template from the menu.
      await small.click('[data-testid="menu-templates"]');
      await small.locator('.dropdown button').last().click();
      await small.waitForFunction(() => window.usoEditor.app.workflowName !== 'uso-style-subject');
      seen = await outside();
      expect(seen.bad).toEqual([]);
      await small.screenshot({ path: join(SHOTS, 'd11-fit-1280-template.png') });
    } finally {
      await small.close();
    }
  }, 60_000);

  it('collapses with Alt+C, pins with P and zooms with Alt+= and Alt+-', async () => {
    await freshCanvas(page);
    await page.evaluate(() => {
      const { editor } = window.usoEditor;
      editor.canvas.selectNode(editor.addNode('SrvAdd', [200, 200]));
    });
    await focusCanvas(page);
    const node = () => page.evaluate(() => {
      const n = window.usoEditor.editor.serialize().nodes[0];
      return { collapsed: !!n.flags?.collapsed, pinned: !!n.flags?.pinned };
    }) as Promise<{ collapsed: boolean; pinned: boolean }>;
    await page.keyboard.press('Alt+c');
    expect(await node()).toEqual({ collapsed: true, pinned: false });
    await page.keyboard.press('p');
    expect(await node()).toEqual({ collapsed: true, pinned: true });
    await shot(page, 'd12-collapsed-pinned');
    // A pinned node stays as it is (litegraph's rule): unpin first, then expand.
    await page.keyboard.press('Alt+c');
    expect(await node()).toEqual({ collapsed: true, pinned: true });
    await page.keyboard.press('p');
    await page.keyboard.press('Alt+c');
    expect(await node()).toEqual({ collapsed: false, pinned: false });
    const scale = () => page.evaluate(() => window.usoEditor.editor.canvas.ds.scale) as Promise<number>;
    await page.keyboard.press('Alt+Equal');
    expect(await scale()).toBeCloseTo(1.1, 5);
    await page.keyboard.press('Alt+Minus');
    await page.keyboard.press('Alt+Minus');
    expect(await scale()).toBeCloseTo(1 / 1.1, 5);
  });

  it('renames a node and a group by double-clicking their titles', async () => {
    await freshCanvas(page);
    const at = await page.evaluate(() => {
      const { editor } = window.usoEditor;
      const node = editor.addNode('SrvAdd', [200, 200]);
      editor.canvas.deselectAll();
      editor.addGroup('Group');
      const group = editor.graph.groups[0];
      group.pos = [600, 150];
      editor.drawFrame();
      const rect = editor.canvas.canvas.getBoundingClientRect();
      return {
        node: [rect.left + node.pos[0] + 40, rect.top + node.pos[1] - 15],
        group: [rect.left + group.pos[0] + 40, rect.top + group.pos[1] + group.titleHeight / 2],
      };
    }) as { node: [number, number]; group: [number, number] };
    await page.mouse.dblclick(...at.node);
    await page.waitForSelector('[data-testid="title-editor"]');
    await page.keyboard.type('My adder');
    await shot(page, 'd13-rename-node');
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-testid="title-editor"]', { state: 'detached' });
    await page.mouse.dblclick(...at.group);
    await page.waitForSelector('[data-testid="title-editor"]');
    await page.keyboard.type('Inputs');
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-testid="title-editor"]', { state: 'detached' });
    const titles = await page.evaluate(() => {
      const wf = window.usoEditor.editor.serialize();
      return { node: wf.nodes[0].title, group: wf.groups[0].title };
    });
    expect(titles).toEqual({ node: 'My adder', group: 'Inputs' });
    // Escape keeps the old title.
    await page.mouse.dblclick(...at.node);
    await page.waitForSelector('[data-testid="title-editor"]');
    await page.keyboard.type('Discarded');
    await page.keyboard.press('Escape');
    await page.waitForSelector('[data-testid="title-editor"]', { state: 'detached' });
    expect(await page.evaluate(() => window.usoEditor.editor.serialize().nodes[0].title)).toBe('My adder');
  });

  it('runs again by itself in Queue (Instant) and on each settled edit in Queue (On Change)', async () => {
    const posts = () => requests.filter((r) => r === 'POST /api/prompt').length;
    const finished = async () => Object.keys((await (await fetch(`${server.url}/api/history`)).json()) as object).length;
    const postsAtStart = posts();
    const finishedAtStart = await finished();
    /** Every prompt this test posted has finished on the server, and the page is idle: nothing is in flight. */
    const idle = async () => {
      await expect.poll(async () => (await finished()) - finishedAtStart, { timeout: 30_000 }).toBe(posts() - postsAtStart);
      await page.waitForFunction(() => window.usoEditor.app.execution.promptId === null, null, { timeout: 10_000 });
    };
    await sleepGraph(page, 300, 3);
    // Instant: one press, then a new run each time the queue runs empty.
    await page.selectOption('[data-testid="run-mode"]', 'instant');
    const start = posts();
    await page.click('[data-testid="queue-button"]');
    await expect.poll(posts, { timeout: 20_000 }).toBeGreaterThanOrEqual(start + 3);
    await shot(page, 'd14-instant');
    await page.selectOption('[data-testid="run-mode"]', 'once');
    await idle();
    const stopped = posts();
    await page.evaluate(() => window.usoEditor.controller.refreshQueue());
    expect(posts()).toBe(stopped);
    // On Change: an edit that settles (key up) queues once; edits while it runs queue once more afterwards.
    await page.selectOption('[data-testid="run-mode"]', 'change');
    await focusCanvas(page);
    const before = posts();
    const edit = (ms: number) => page.evaluate((v) => {
      window.usoEditor.editor.graph.nodes[0].widgets.find((w: any) => w.name === 'ms').value = v;
    }, ms);
    // Long enough that the next two edits surely land while it runs.
    await edit(8000);
    await page.keyboard.press('Shift');
    await expect.poll(posts, { timeout: 10_000 }).toBe(before + 1);
    await page.waitForFunction(() => window.usoEditor.app.execution.promptId !== null, null, { timeout: 10_000 });
    await edit(310);
    await page.keyboard.press('Shift');
    await edit(320);
    await page.keyboard.press('Shift');
    expect(posts()).toBe(before + 1);
    await expect.poll(posts, { timeout: 20_000 }).toBe(before + 2);
    await idle();
    await page.evaluate(() => window.usoEditor.controller.refreshQueue());
    expect(posts()).toBe(before + 2);
    await page.selectOption('[data-testid="run-mode"]', 'once');
  }, 90_000);

  it('closes the gallery lightbox with Escape', async () => {
    await page.evaluate(() => {
      const { editor } = window.usoEditor;
      editor.clear();
      editor.addNode('SrvSaveImage', [100, 100]);
    });
    await focusCanvas(page);
    await page.keyboard.press('Control+Enter');
    await page.waitForFunction(() => window.usoEditor.app.execution.gallery.length > 0 && window.usoEditor.app.execution.promptId === null, null, { timeout: 15_000 });
    await page.click('[data-testid="panel-gallery"]');
    await page.locator('[data-testid="gallery-image"]').first().click();
    await page.waitForSelector('[data-testid="lightbox"]');
    await shot(page, 'd09-lightbox');
    await page.keyboard.press('Escape');
    await page.waitForSelector('[data-testid="lightbox"]', { state: 'detached', timeout: 5_000 });
  }, 30_000);
});
