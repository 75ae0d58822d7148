/**
 * Builds the ready workflows in workflows/*.json (ComfyUI UI format, version 0.4) from API prompts, so they stay
 * reproducible: `npx tsx workflows/build-workflows.ts` rewrites them; test/workflows checks the files match.
 *
 * Each workflow is an API prompt with titles, converted by core's apiToUi (node shapes, links, widgets_values), then
 * placed by hand-chosen sections (one group per section) instead of apiToUi's depth columns. The template-shaped
 * workflow then folds nodes into subgraphs the way ComfyUI's "Convert to Subgraph" does (./fold-subgraph.ts), with
 * the sampler's seed shown on the outer node through a proxy to the inner node.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  apiToUi,
  estimateNodeSize,
  type ApiPrompt,
  type ObjectInfoEntry,
  type SubgraphDefinition,
  type UiWorkflowV04,
  type WorkflowGroup,
  type WorkflowLinkArray,
  type WorkflowNode,
} from '../packages/core/src/index.ts';
import { DEFAULT_PACKS, loadRegistry } from '../packages/server/src/index.ts';
import { foldIntoSubgraph, stableUuid, type Graph } from './fold-subgraph.ts';

/** Demo model and input names (packages/runtime's demo set). */
export const DEMO = {
  checkpoint: 'uso-demo-flux-checkpoint.safetensors',
  lora: 'uso-demo-dit-lora.safetensors',
  projector: 'uso-demo-projector.safetensors',
  vision: 'uso-demo-siglip-vision.safetensors',
  subject: 'uso-demo-subject.png',
  styleA: 'uso-demo-style-a.png',
  styleB: 'uso-demo-style-b.png',
} as const;

/** The issue's bench setting; tests lower them with overrides. */
export const SIZE = 512;
export const STEPS = 20;
const SEED = 1058487910949722;

/** The file names this script writes, with what each one does (README's table is written from the same list). */
export const WORKFLOWS = {
  'uso-style-subject.json': 'Style + subject: the subject image\'s layout drawn in the style image\'s colours (the editor\'s default).',
  'uso-style-only.json': 'Style only: text to image, with the style image\'s palette and contrast.',
  'uso-subject-only.json': 'Subject only: the subject image as reference latent, no style tokens.',
  'uso-two-styles.json': 'Two styles chained through two USOStyleReference nodes: the output takes their blend.',
  'uso-text-only.json': 'Text only: FLUX text to image with the USO LoRA, no references.',
  'uso-template-subgraphs.json': 'Style + subject shaped like ComfyUI\'s USO template: subgraphs for the style reference and the reference conditioning, promoted widgets on the subgraph node.',
} as const;
export type WorkflowName = keyof typeof WORKFLOWS;

interface PromptOptions {
  styles: string[];
  subject: boolean;
  text: string;
}

/** Node ids are the same in every workflow, so `--set 20.seed=7` means the sampler everywhere. */
export const NODE = {
  checkpoint: 1, lora: 2, projector: 3, vision: 4,
  styleImage: 5, styleEncode: 6, styleReference: 7, styleImage2: 8, styleEncode2: 9, styleReference2: 10,
  subjectImage: 11, subjectScale: 12, subjectEncode: 13,
  text: 14, referenceLatent: 15, referenceMethod: 16, guidance: 17, negative: 18,
  latent: 19, sampler: 20, decode: 21, save: 22,
} as const;

/** The USO graph of ComfyUI's template in API form, with the parts a workflow does not use left out. */
export function usoPrompt({ styles, subject, text }: PromptOptions): ApiPrompt {
  const n = (id: number) => String(id);
  const p: ApiPrompt = {};
  const add = (id: number, class_type: string, title: string, inputs: Record<string, unknown>) => {
    p[n(id)] = { class_type, inputs, _meta: { title } };
  };
  add(NODE.checkpoint, 'CheckpointLoaderSimple', 'Load Checkpoint', { ckpt_name: DEMO.checkpoint });
  add(NODE.lora, 'LoraLoaderModelOnly', 'USO DiT LoRA', { model: [n(NODE.checkpoint), 0], lora_name: DEMO.lora, strength_model: 1 });
  let model: [string, number] = [n(NODE.lora), 0];
  if (styles.length > 0) {
    add(NODE.projector, 'ModelPatchLoader', 'USO projector', { name: DEMO.projector });
    add(NODE.vision, 'CLIPVisionLoader', 'SigLIP vision encoder', { clip_name: DEMO.vision });
    const ids = [
      [NODE.styleImage, NODE.styleEncode, NODE.styleReference],
      [NODE.styleImage2, NODE.styleEncode2, NODE.styleReference2],
    ] as const;
    styles.forEach((image, i) => {
      const [imageId, encodeId, refId] = ids[i]!;
      const suffix = styles.length > 1 ? ` ${i + 1}` : '';
      add(imageId, 'LoadImage', `Style image${suffix}`, { image });
      add(encodeId, 'CLIPVisionEncode', `CLIP Vision Encode${suffix}`, { clip_vision: [n(NODE.vision), 0], image: [n(imageId), 0], crop: 'center' });
      add(refId, 'USOStyleReference', `USO Style Reference${suffix}`, { model, model_patch: [n(NODE.projector), 0], clip_vision_output: [n(encodeId), 0] });
      model = [n(refId), 0];
    });
  }
  add(NODE.text, 'CLIPTextEncode', 'Prompt', { text, clip: [n(NODE.checkpoint), 1] });
  let positive: [string, number] = [n(NODE.text), 0];
  if (subject) {
    add(NODE.subjectImage, 'LoadImage', 'Subject image', { image: DEMO.subject });
    add(NODE.subjectScale, 'ImageScaleToMaxDimension', 'Scale subject', { image: [n(NODE.subjectImage), 0], upscale_method: 'area', largest_size: SIZE });
    add(NODE.subjectEncode, 'VAEEncode', 'VAE Encode subject', { pixels: [n(NODE.subjectScale), 0], vae: [n(NODE.checkpoint), 2] });
    add(NODE.referenceLatent, 'ReferenceLatent', 'ReferenceLatent', { conditioning: positive, latent: [n(NODE.subjectEncode), 0] });
    add(NODE.referenceMethod, 'FluxKontextMultiReferenceLatentMethod', 'Reference method', { conditioning: [n(NODE.referenceLatent), 0], reference_latents_method: 'uxo/uno' });
    positive = [n(NODE.referenceMethod), 0];
  }
  add(NODE.guidance, 'FluxGuidance', 'FluxGuidance', { conditioning: positive, guidance: 3.5 });
  add(NODE.negative, 'ConditioningZeroOut', 'Negative (zeroed)', { conditioning: [n(NODE.text), 0] });
  add(NODE.latent, 'EmptyLatentImage', 'Empty Latent Image', { width: SIZE, height: SIZE, batch_size: 1 });
  add(NODE.sampler, 'KSampler', 'KSampler', {
    model, seed: SEED, steps: STEPS, cfg: 1, sampler_name: 'euler', scheduler: 'simple',
    positive: [n(NODE.guidance), 0], negative: [n(NODE.negative), 0], latent_image: [n(NODE.latent), 0], denoise: 1,
  });
  add(NODE.decode, 'VAEDecode', 'VAE Decode', { samples: [n(NODE.sampler), 0], vae: [n(NODE.checkpoint), 2] });
  add(NODE.save, 'SaveImage', 'Save Image', { images: [n(NODE.decode), 0], filename_prefix: 'uso' });
  return p;
}

/** A group and the columns of node ids it holds; `below` stacks it under another section instead of beside. */
interface Section {
  title: string;
  color: string;
  columns: number[][];
  below?: string;
}

const SECTIONS: Section[] = [
  { title: 'Models', color: '#3f789e', columns: [[NODE.checkpoint, NODE.lora, NODE.projector, NODE.vision]] },
  {
    title: 'Style reference',
    color: '#a1309b',
    columns: [[NODE.styleImage, NODE.styleImage2], [NODE.styleEncode, NODE.styleReference, NODE.styleEncode2, NODE.styleReference2]],
  },
  { title: 'Subject reference', color: '#8A8', columns: [[NODE.subjectImage], [NODE.subjectScale, NODE.subjectEncode]], below: 'Style reference' },
  { title: 'Prompt and conditioning', color: '#b58b2a', columns: [[NODE.text, NODE.referenceLatent, NODE.referenceMethod, NODE.guidance, NODE.negative]] },
  { title: 'Sampling', color: '#444', columns: [[NODE.latent, NODE.sampler], [NODE.decode, NODE.save]] },
];

const TITLE = 30;
const GAP = 40;
const PAD = 20;
const GROUP_HEADER = 46;
/** ComfyUI sizes: image nodes show their picture, the sampler and prompt are taller than a bare widget count. */
const MIN_HEIGHT: Record<string, number> = { LoadImage: 314, SaveImage: 270, KSampler: 262, CLIPTextEncode: 140 };

/** Places the nodes section by section and adds one group per section that has nodes. */
function placeNodes(workflow: UiWorkflowV04, objectInfo: Record<string, ObjectInfoEntry>): void {
  const byId = new Map(workflow.nodes.map((node) => [Number(node.id), node]));
  const boxes = new Map<string, number[]>();
  const groups: WorkflowGroup[] = [];
  let nextX = 0;
  for (const section of SECTIONS) {
    const present = section.columns.map((c) => c.filter((id) => byId.has(id))).filter((c) => c.length > 0);
    if (present.length === 0) continue;
    const above = section.below ? boxes.get(section.below) : undefined;
    const x0 = above ? above[0]! : nextX;
    const y0 = above ? above[1]! + above[3]! + GAP : 0;
    let x = x0 + PAD;
    let bottom = y0;
    for (const column of present) {
      let y = y0 + GROUP_HEADER + TITLE;
      let width = 0;
      for (const id of column) {
        const node = byId.get(id)!;
        const [w, h] = estimateNodeSize(node, objectInfo[node.type]!);
        node.size = [w, Math.max(h, MIN_HEIGHT[node.type] ?? 0)];
        node.pos = [x, y];
        y += (node.size as number[])[1]! + TITLE + GAP / 2;
        width = Math.max(width, w);
      }
      bottom = Math.max(bottom, y - GAP / 2 - TITLE);
      x += width + GAP;
    }
    const box = [x0, y0, x - GAP + PAD - x0, bottom + PAD - y0];
    boxes.set(section.title, box);
    groups.push({ id: groups.length + 1, title: section.title, bounding: box, color: section.color, font_size: 24, flags: {} });
    if (!above) nextX = x0 + box[2]! + GAP;
  }
  workflow.groups = groups;
  // litegraph's `order` is the execution order; keep apiToUi's topological numbering but in the final node order.
  workflow.nodes.sort((a, b) => Number(a.order) - Number(b.order));
}

/** Shared fields ComfyUI writes on every saved workflow. */
function finish(workflow: UiWorkflowV04, name: string): UiWorkflowV04 {
  const ordered: UiWorkflowV04 = {
    id: stableUuid(`workflow:${name}`),
    revision: 0,
    last_node_id: workflow.last_node_id,
    last_link_id: workflow.last_link_id,
    nodes: workflow.nodes,
    links: workflow.links,
    groups: workflow.groups ?? [],
    ...(workflow.definitions ? { definitions: workflow.definitions } : {}),
    config: {},
    extra: { ds: { scale: 0.75, offset: [60, 60] }, frontendVersion: '1.38.6' },
    version: 0.4,
  };
  const inner = (ordered.definitions?.subgraphs ?? []).flatMap((d) => d.nodes);
  for (const node of [...ordered.nodes, ...inner]) {
    for (const input of node.inputs ?? []) input.localized_name = input.name;
    for (const output of node.outputs ?? []) output.localized_name = output.name;
  }
  return ordered;
}

/** One flat workflow: the prompt, laid out, with groups. */
function flatWorkflow(name: WorkflowName, options: PromptOptions, objectInfo: Record<string, ObjectInfoEntry>): UiWorkflowV04 {
  const workflow = apiToUi(usoPrompt(options), objectInfo);
  placeNodes(workflow, objectInfo);
  return finish(workflow, name);
}

/** Style + subject shaped like ComfyUI's USO template. */
function templateWorkflow(objectInfo: Record<string, ObjectInfoEntry>): UiWorkflowV04 {
  const prompt = usoPrompt({ styles: [DEMO.styleA], subject: true, text: TEXT });
  // The template uses FLUX's 16-channel empty latent, and its prompt and size are widgets on the outer node.
  prompt[String(NODE.latent)] = { class_type: 'EmptySD3LatentImage', inputs: { width: SIZE, height: SIZE, batch_size: 1 }, _meta: { title: 'EmptySD3LatentImage' } };
  const workflow = apiToUi(prompt, objectInfo);
  placeNodes(workflow, objectInfo);
  let lastLink = workflow.last_link_id;
  const nextLinkId = () => ++lastLink;
  const graph: Graph = {
    nodes: workflow.nodes,
    links: workflow.links.map(([id, origin_id, origin_slot, target_id, target_slot, type]) => ({
      id, origin_id: Number(origin_id), origin_slot, target_id: Number(target_id), target_slot, type: String(type),
    })),
  };
  const definitions: SubgraphDefinition[] = [];
  foldIntoSubgraph(graph, definitions, {
    name: 'USO Style Reference', members: [NODE.styleEncode, NODE.styleReference], instanceId: 23,
    promote: [{ node: NODE.styleEncode, widget: 'crop' }], objectInfo, nextLinkId,
  });
  foldIntoSubgraph(graph, definitions, {
    name: 'USO Reference Conditioning', members: [NODE.referenceLatent, NODE.referenceMethod, NODE.guidance], instanceId: 24,
    promote: [{ node: NODE.guidance, widget: 'guidance' }], objectInfo, nextLinkId,
  });
  const outer = [
    NODE.checkpoint, NODE.lora, NODE.projector, NODE.vision, 23, NODE.subjectScale, NODE.subjectEncode,
    NODE.text, 24, NODE.negative, NODE.latent, NODE.sampler, NODE.decode,
  ];
  foldIntoSubgraph(graph, definitions, {
    name: 'USO Style + Subject', members: outer, instanceId: 25,
    promote: [{ node: NODE.text, widget: 'text' }, { node: NODE.latent, widget: 'width' }, { node: NODE.latent, widget: 'height' }],
    proxy: [{ node: NODE.sampler, widget: 'seed' }, { node: NODE.sampler, widget: 'control_after_generate' }],
    objectInfo, nextLinkId,
  });
  // Root: the two images, the subgraph node, the save node and a note, left to right.
  const instance = graph.nodes.find((n) => n.id === 25)!;
  const style = graph.nodes.find((n) => n.id === NODE.styleImage)!;
  const subject = graph.nodes.find((n) => n.id === NODE.subjectImage)!;
  const save = graph.nodes.find((n) => n.id === NODE.save)!;
  style.pos = [0, 0];
  subject.pos = [0, 390];
  instance.pos = [400, 0];
  instance.size = [400, 420];
  save.pos = [860, 0];
  const note: WorkflowNode = {
    id: 26,
    type: 'MarkdownNote',
    pos: [0, 760],
    size: [800, 160],
    flags: {},
    order: 0,
    mode: 0,
    inputs: [],
    outputs: [],
    title: 'About this workflow',
    properties: {},
    widgets_values: [
      'USO style + subject with the demo model set. Open the **USO Style + Subject** node to see the loaders, the sampler and two nested subgraphs: ' +
        '**USO Style Reference** (CLIPVisionEncode + USOStyleReference, `crop` promoted) and **USO Reference Conditioning** ' +
        '(ReferenceLatent, reference method, FluxGuidance, `guidance` promoted). Prompt, width and height are promoted onto the node; ' +
        "the sampler's seed and its control_after_generate are shown on the node as proxy widgets (ComfyUI's `proxyWidgets`): " +
        'edit them there or inside the node, or run headless with `--set 25:20.seed=<n>`.',
    ],
    color: '#432',
    bgcolor: '#653',
  };
  graph.nodes.push(note);
  const links: WorkflowLinkArray[] = graph.links.map((l) => [l.id, l.origin_id, l.origin_slot, l.target_id, l.target_slot, l.type]);
  return finish(
    {
      ...workflow,
      last_node_id: 26,
      last_link_id: lastLink,
      nodes: graph.nodes,
      links,
      groups: [],
      definitions: { subgraphs: definitions },
    },
    'uso-template-subgraphs.json',
  );
}

const TEXT = 'a picture in the style of the reference';

/** Builds every workflow for a registry's /object_info. */
export function buildWorkflows(objectInfo: Record<string, ObjectInfoEntry>): Record<WorkflowName, UiWorkflowV04> {
  return {
    'uso-style-subject.json': flatWorkflow('uso-style-subject.json', { styles: [DEMO.styleA], subject: true, text: TEXT }, objectInfo),
    'uso-style-only.json': flatWorkflow('uso-style-only.json', { styles: [DEMO.styleA], subject: false, text: 'round shapes and soft waves' }, objectInfo),
    'uso-subject-only.json': flatWorkflow('uso-subject-only.json', { styles: [], subject: true, text: TEXT }, objectInfo),
    'uso-two-styles.json': flatWorkflow('uso-two-styles.json', { styles: [DEMO.styleA, DEMO.styleB], subject: true, text: TEXT }, objectInfo),
    'uso-text-only.json': flatWorkflow('uso-text-only.json', { styles: [], subject: false, text: 'a red apple on a wooden table' }, objectInfo),
    'uso-template-subgraphs.json': templateWorkflow(objectInfo),
  };
}

/** The text a workflow file holds (ComfyUI's export indents JSON by 2). */
export function workflowText(workflow: UiWorkflowV04): string {
  return JSON.stringify(workflow, null, 2) + '\n';
}

/**
 * /object_info of the default packs over a data folder holding exactly the demo file names (empty files: only the
 * names matter, since node widths follow the longest combo entry), so the layout never depends on what is installed.
 */
export async function defaultObjectInfo(): Promise<Record<string, ObjectInfoEntry>> {
  const registry = await loadRegistry(DEFAULT_PACKS);
  const root = mkdtempSync(join(tmpdir(), 'uso-workflows-'));
  const files = [
    `models/checkpoints/${DEMO.checkpoint}`, `models/loras/${DEMO.lora}`, `models/model_patches/${DEMO.projector}`,
    `models/clip_vision/${DEMO.vision}`, `input/${DEMO.subject}`, `input/${DEMO.styleA}`, `input/${DEMO.styleB}`,
  ];
  try {
    for (const file of files) {
      mkdirSync(dirname(join(root, file)), { recursive: true });
      writeFileSync(join(root, file), '');
    }
    return registry.objectInfo({ inputDir: join(root, 'input'), outputDir: root, tempDir: root, modelsDir: join(root, 'models') });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const dir = dirname(fileURLToPath(import.meta.url));
  const workflows = buildWorkflows(await defaultObjectInfo());
  for (const [name, workflow] of Object.entries(workflows)) writeFileSync(join(dir, name), workflowText(workflow));
  console.log(`wrote ${Object.keys(workflows).length} workflows to ${dir}`);
}
