// @vitest-environment jsdom
import { Blob as NodeBlob, File as NodeFile } from 'node:buffer';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from './api-client.ts';
import { EditorController, type EditorStateSink } from './editor-controller.ts';
import { initialExecutionState } from './execution-state.ts';
import { Keymap } from './shortcuts.ts';
import { GraphEditor } from './litegraph-adapter.ts';
import { pngWithText, stubCanvasContext, testObjectInfo } from './test-support.ts';
import type { SocketLike } from './ws-client.ts';
import { DEFAULT_VIEW_OPTIONS } from './view-options.ts';

// A loopback server in ComfyUI's shapes: /object_info, and /prompt that rejects prompts whose KSampler has steps 0.
const uploads: { filename: string; bytes: number }[] = [];
const prompts: { prompt: Record<string, { class_type: string; inputs: Record<string, unknown> }>; extra_data: { extra_pnginfo: { workflow: unknown }; preview_method?: string } }[] = [];
let server: Server;
let base = '';
let restore: () => void;

beforeAll(async () => {
  restore = stubCanvasContext();
  server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const json = (status: number, data: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json', 'access-control-allow-origin': '*' });
      res.end(JSON.stringify(data));
    };
    const url = new URL(req.url!, 'http://x');
    if (url.pathname === '/api/object_info') return json(200, testObjectInfo());
    if (url.pathname === '/api/prompt' && req.method === 'POST') {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      const bad = Object.entries(body.prompt as Record<string, { class_type: string; inputs: Record<string, unknown> }>).find(([, n]) => n.class_type === 'KSampler' && n.inputs.steps === 0);
      if (bad) {
        return json(400, {
          error: { type: 'prompt_outputs_failed_validation', message: 'Prompt outputs failed validation', details: '' },
          node_errors: { [bad[0]]: { errors: [{ type: 'value_smaller_than_min', message: 'Value 0 smaller than min of 1', details: 'steps' }], class_type: 'KSampler', dependent_outputs: [] } },
        });
      }
      prompts.push(body);
      return json(200, { prompt_id: `p${prompts.length}`, number: prompts.length, node_errors: {} });
    }
    if (url.pathname === '/api/upload/image' && req.method === 'POST') {
      const body = Buffer.concat(chunks);
      const filename = /filename="([^"]+)"/.exec(body.toString('latin1'))?.[1] ?? 'unnamed';
      uploads.push({ filename, bytes: body.length });
      return json(200, { name: filename, subfolder: '', type: 'input' });
    }
    if (url.pathname === '/api/queue') return json(200, { queue_running: [], queue_pending: [] });
    if (url.pathname === '/api/history') return json(200, {});
    if (url.pathname === '/api/settings') return json(200, {});
    return json(404, {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

const editors: GraphEditor[] = [];

/** jsdom's Blob has no stream(), which core's PNG writer and reader use: PNGs and dropped files use Node's. */
async function png(text: Record<string, string>): Promise<Uint8Array> {
  const jsdomBlob = globalThis.Blob;
  globalThis.Blob = NodeBlob as unknown as typeof Blob;
  try {
    return await pngWithText(text);
  } finally {
    globalThis.Blob = jsdomBlob;
  }
}
const dropped = (bytes: Uint8Array, name: string, type: string) => new NodeFile([bytes], name, { type }) as unknown as File;

/** Runs `fn` with Node's FormData (jsdom's refuses Node's files, and Node's fetch cannot send jsdom's). */
async function withNodeFormData(fn: () => Promise<void>): Promise<void> {
  // jsdom hides Node's FormData; Node's Response still makes one.
  const NodeFormData = (await new Response(new URLSearchParams('a=1')).formData()).constructor as typeof FormData;
  const jsdomFormData = globalThis.FormData;
  globalThis.FormData = NodeFormData;
  try {
    await fn();
  } finally {
    globalThis.FormData = jsdomFormData;
  }
}

afterAll(async () => {
  for (const e of editors) e.destroy();
  restore();
  await new Promise<void>((r) => server.close(() => r()));
});

function sink(): EditorStateSink {
  return {
    connection: 'connecting', reconnectAttempt: 0, workflowName: 'workflow', batchCount: 1, runMode: 'once', selectedCount: 0, graphPath: ['Workflow'],
    execution: initialExecutionState(), queue: { running: [], pending: [] }, history: [], templates: [], missingNodeTypes: [],
    validation: null, previewUrl: null, search: null, toasts: [], nodeTypeCount: 0, ready: false,
    tabs: [], activeTab: '', dialog: null, library: [], settings: {}, keymap: new Keymap(), viewOptions: { ...DEFAULT_VIEW_OPTIONS },
  };
}

async function setup() {
  const state = sink();
  const sockets: SocketLike[] = [];
  const storage = new Map<string, string>();
  const controller = new EditorController(state, {
    api: new ApiClient(base),
    location: { protocol: 'http:', host: 'x' },
    templates: [],
    clientId: 'client-1',
    storage: { getItem: (k) => storage.get(k) ?? null, setItem: (k, v) => void storage.set(k, v), removeItem: (k) => void storage.delete(k) },
    createSocket: () => {
      const s: SocketLike = { binaryType: '', onopen: null, onclose: null, onerror: null, onmessage: null, close() {} };
      sockets.push(s);
      return s;
    },
  });
  const canvas = document.createElement('canvas');
  document.body.appendChild(canvas);
  const editor = new GraphEditor(canvas, { onChange: () => controller.graphChanged() });
  editors.push(editor);
  await controller.attach(editor);
  return { state, controller, editor, sockets, storage };
}

describe('EditorController', () => {
  it('loads node types, connects its socket and starts ready', async () => {
    const { state, sockets } = await setup();
    expect(state.nodeTypeCount).toBe(Object.keys(testObjectInfo()).length);
    expect(state.ready).toBe(true);
    expect(sockets).toHaveLength(1);
  });

  it('queues a batch through core\'s uiToApi with the workflow in extra_pnginfo, moving the seed between items', async () => {
    const { state, controller, editor } = await setup();
    const ckpt = editor.addNode('CheckpointLoaderSimple', [0, 0])!;
    const latent = editor.addNode('EmptyLatentImage', [0, 200])!;
    const clip = editor.addNode('CLIPTextEncode', [0, 400])!;
    const sampler = editor.addNode('KSampler', [300, 0])!;
    const decode = editor.addNode('VAEDecode', [600, 0])!;
    const save = editor.addNode('SaveImage', [900, 0])!;
    ckpt.connect(0, sampler, 0);
    ckpt.connect(1, clip, clip.inputs.findIndex((i) => i.name === 'clip'));
    clip.connect(0, sampler, sampler.inputs.findIndex((i) => i.name === 'positive'));
    clip.connect(0, sampler, sampler.inputs.findIndex((i) => i.name === 'negative'));
    latent.connect(0, sampler, sampler.inputs.findIndex((i) => i.name === 'latent_image'));
    sampler.connect(0, decode, 0);
    ckpt.connect(2, decode, 1);
    decode.connect(0, save, 0);
    sampler.widgets![0]!.value = 5;
    sampler.widgets![1]!.value = 'increment';
    clip.widgets!.find((w) => w.name === 'text')!.value = 'a {red|red} fox // a comment';
    const before = prompts.length;
    state.batchCount = 2;
    const ids = await controller.queue();
    expect(ids).toHaveLength(2);
    const sent = prompts.slice(before);
    const seeds = sent.map((p) => Object.values(p.prompt).find((n) => n.class_type === 'KSampler')!.inputs.seed);
    expect(seeds).toEqual([5, 6]);
    expect(sampler.widgets![0]!.value).toBe(7);
    expect((sent[0]!.extra_data.extra_pnginfo.workflow as { nodes: unknown[] }).nodes).toHaveLength(6);
    expect(sent[0]!.extra_data.preview_method).toBe('auto');
    // Dynamic prompts resolve in the queued prompt only; the saved workflow keeps the template.
    expect(Object.values(sent[0]!.prompt).find((n) => n.class_type === 'CLIPTextEncode')!.inputs.text).toBe('a red fox ');
    const savedClip = (sent[0]!.extra_data.extra_pnginfo.workflow as { nodes: { type: string; widgets_values: unknown[] }[] }).nodes.find((n) => n.type === 'CLIPTextEncode')!;
    expect(savedClip.widgets_values[0]).toBe('a {red|red} fox // a comment');
  });

  it('outlines every node a 400 names and reports their messages', async () => {
    const { state, controller, editor } = await setup();
    const sampler = editor.addNode('KSampler', [0, 0])!;
    editor.addNode('SaveImage', [300, 0]);
    sampler.widgets!.find((w) => w.name === 'steps')!.value = 0;
    const ids = await controller.queue();
    expect(ids).toEqual([]);
    expect(state.validation?.nodes).toEqual([{ id: String(sampler.id), title: 'KSampler', classType: 'KSampler', messages: ['Value 0 smaller than min of 1: steps'] }]);
    expect(sampler.has_errors).toBe(true);
    expect(state.toasts.some((t) => t.kind === 'error')).toBe(true);
  });

  it('tracks execution messages from the socket onto the canvas', async () => {
    const { state, editor, sockets } = await setup();
    const save = editor.addNode('SaveImage', [0, 0])!;
    const socket = sockets[0]!;
    const send = (type: string, data: Record<string, unknown>) => socket.onmessage?.({ data: JSON.stringify({ type, data }) });
    send('execution_start', { prompt_id: 'p' });
    send('executing', { node: String(save.id), prompt_id: 'p' });
    expect(state.execution.runningNode).toBe(String(save.id));
    expect(save.strokeStyles['running']?.call(save)).toBeDefined();
    send('execution_error', { prompt_id: 'p', node_id: String(save.id), node_type: 'SaveImage', exception_message: 'disk full', exception_type: 'OSError' });
    expect(state.execution.error?.message).toBe('disk full');
    expect(save.has_errors).toBe(true);
    // Shown once, on the error card: no toast repeats it.
    expect(state.toasts.map((t) => t.text).filter((t) => t.includes('disk full'))).toEqual([]);
    send('executing', { node: null, prompt_id: 'p' });
    expect(state.execution.runningNode).toBeNull();
  });

  it('undoes and redoes graph edits', async () => {
    const { controller, editor } = await setup();
    controller.checkpoint();
    editor.addNode('SaveImage', [0, 0]);
    controller.checkpoint();
    editor.addNode('VAEDecode', [0, 200]);
    controller.checkpoint();
    controller.undo();
    expect(editor.serialize().nodes.map((n) => n.type)).toEqual(['SaveImage']);
    controller.undo();
    expect(editor.serialize().nodes).toEqual([]);
    controller.redo();
    controller.redo();
    expect(editor.serialize().nodes.map((n) => n.type)).toEqual(['SaveImage', 'VAEDecode']);
  });

  it('opens workflows and New in new tabs, each with its own undo history, leaving the changed graph in its tab', async () => {
    const { controller, editor, state } = await setup();
    editor.addNode('SaveImage', [0, 0]);
    const other = (() => {
      editor.addNode('VAEDecode', [0, 200]);
      const wf = editor.serialize();
      editor.graph.remove(editor.graph.nodes[1]!);
      return wf;
    })();
    // No checkpoint after the edit: the first tab must still keep it.
    controller.loadWorkflow(other, 'other');
    expect(state.tabs.map((t) => [t.name, t.modified])).toEqual([['Unsaved Workflow', true], ['other', false]]);
    expect(editor.serialize().nodes.map((n) => n.type)).toEqual(['SaveImage', 'VAEDecode']);
    controller.newWorkflow();
    expect(state.tabs.map((t) => t.name)).toEqual(['Unsaved Workflow', 'other', 'Unsaved Workflow (2)']);
    expect(editor.serialize().nodes).toEqual([]);
    // Nothing to undo in a new tab; the others keep their graphs.
    controller.undo();
    expect(editor.serialize().nodes).toEqual([]);
    controller.switchTab(state.tabs[0]!.id);
    expect(editor.serialize().nodes.map((n) => n.type)).toEqual(['SaveImage']);
    controller.undo();
    expect(editor.serialize().nodes).toEqual([]);
    controller.redo();
    expect(editor.serialize().nodes.map((n) => n.type)).toEqual(['SaveImage']);
    // An empty unsaved tab is reused rather than kept beside the opened workflow.
    controller.switchTab(state.tabs[2]!.id);
    controller.loadWorkflow(other, 'again');
    expect(state.tabs.map((t) => t.name)).toEqual(['Unsaved Workflow', 'other', 'again']);
  });

  it('asks before closing a changed tab and closes only on the user\'s word', async () => {
    const { controller, editor, state } = await setup();
    editor.addNode('SaveImage', [0, 0]);
    controller.newWorkflow();
    const changed = state.tabs[0]!.id;
    let closing = controller.closeTab(changed);
    await Promise.resolve();
    expect(state.dialog?.buttons.map((b) => b.value)).toEqual(['save', 'discard', 'cancel']);
    controller.dialogs.answer('cancel');
    expect(await closing).toBe(false);
    expect(state.tabs.length).toBe(2);
    closing = controller.closeTab(changed);
    await Promise.resolve();
    controller.dialogs.answer('discard');
    expect(await closing).toBe(true);
    expect(state.tabs.length).toBe(1);
    // An unchanged tab closes without a question; the last one leaves an empty tab.
    expect(await controller.closeTab(state.tabs[0]!.id)).toBe(true);
    expect(state.dialog).toBeNull();
    expect(state.tabs.length).toBe(1);
  });

  it('keeps the open tabs in local storage and reopens them on the next start', async () => {
    const first = await setup();
    first.editor.addNode('SaveImage', [0, 0]);
    first.controller.newWorkflow();
    first.editor.addNode('VAEDecode', [0, 0]);
    first.controller.flushAutosave();
    expect([...first.storage.keys()]).toEqual(['uso-studio.tabs']);
    // A fresh controller (a reload) reads the autosave before anything else.
    const againState = sink();
    const again = new EditorController(againState, {
      api: new ApiClient(base), location: { protocol: 'http:', host: 'x' }, templates: [],
      storage: { getItem: (k) => first.storage.get(k) ?? null, setItem: () => undefined, removeItem: () => undefined },
      createSocket: () => ({ binaryType: '', onopen: null, onclose: null, onerror: null, onmessage: null, close() {} }),
    });
    const canvas = document.createElement('canvas');
    const editor = new GraphEditor(canvas, {});
    editors.push(editor);
    await again.attach(editor);
    expect(editor.serialize().nodes.map((n) => n.type)).toEqual(['VAEDecode']);
    expect(againState.tabs.map((t) => [t.name, t.modified])).toEqual([['Unsaved Workflow', true], ['Unsaved Workflow (2)', true]]);
    again.switchTab(againState.tabs[0]!.id);
    expect(editor.serialize().nodes.map((n) => n.type)).toEqual(['SaveImage']);
  });

  it('uploads a plain image dropped on the canvas into a new LoadImage there, or into the LoadImage it lands on', () => withNodeFormData(async () => {
    const { controller, editor, state } = await setup();
    editor.clear();
    uploads.length = 0;
    const plain = await png({});
    await controller.dropFile(dropped(plain, 'cat.png', 'image/png'), [120, 90]);
    expect(uploads.map((u) => u.filename)).toEqual(['cat.png']);
    let nodes = editor.serialize().nodes;
    expect(nodes.map((n) => n.type)).toEqual(['LoadImage']);
    expect(nodes[0]!.pos).toEqual([120, 90]);
    expect(nodes[0]!.widgets_values).toEqual(['cat.png', 'image']);
    // A JPEG dropped onto that node replaces its image; no node is added.
    const jpeg = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0, 1]);
    await controller.dropFile(dropped(jpeg, 'dog.jpg', 'image/jpeg'), [140, 120]);
    expect(uploads.map((u) => u.filename)).toEqual(['cat.png', 'dog.jpg']);
    nodes = editor.serialize().nodes;
    expect(nodes.map((n) => n.type)).toEqual(['LoadImage']);
    expect(nodes[0]!.widgets_values).toEqual(['dog.jpg', 'image']);
    // An image dropped on another kind of node gets its own LoadImage.
    editor.addNode('VAEDecode', [600, 0]);
    await controller.dropFile(dropped(plain, 'bird.png', 'image/png'), [620, 20]);
    nodes = editor.serialize().nodes;
    expect(nodes.map((n) => n.type)).toEqual(['LoadImage', 'VAEDecode', 'LoadImage']);
    expect(nodes[2]!.widgets_values).toEqual(['bird.png', 'image']);
    expect(state.toasts.filter((t) => t.kind === 'error')).toEqual([]);
  }));

  it('restores the graph from a dropped PNG that carries a workflow, without uploading it', async () => {
    const { controller, editor } = await setup();
    uploads.length = 0;
    const workflow = { last_node_id: 5, last_link_id: 0, version: 0.4, links: [], groups: [], config: {}, extra: {},
      nodes: [{ id: 5, type: 'SaveImage', pos: [0, 0], size: [200, 100], flags: {}, order: 0, mode: 0, properties: {}, widgets_values: ['kept'] }] };
    const bytes = await png({ workflow: JSON.stringify(workflow) });
    await controller.dropFile(dropped(bytes, 'output.png', 'image/png'), [10, 10]);
    expect(uploads).toEqual([]);
    expect(editor.serialize().nodes.map((n) => [n.id, n.type, n.widgets_values])).toEqual([[5, 'SaveImage', ['kept']]]);
  });
});
