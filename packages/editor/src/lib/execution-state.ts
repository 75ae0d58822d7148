/**
 * Turns the server's WebSocket messages into what the editor shows while a prompt runs: the running node, progress
 * per node and overall, output images, and the runtime error. A pure reducer, so it is tested without a browser.
 */
import type { ImageRef } from './api-client.ts';

export interface RuntimeError {
  promptId: string;
  nodeId: string;
  nodeType: string;
  message: string;
  type: string;
}

export interface ExecutionState {
  /** The prompt running now, or null when idle. */
  promptId: string | null;
  runningNode: string | null;
  /** Sampler-style progress per node id. */
  nodeProgress: Record<string, { value: number; max: number }>;
  /** Nodes finished (run or cached) in the running prompt. */
  doneNodes: string[];
  /** The nodes of the running prompt the server reused from its cache (no work left in them). */
  cachedNodes: string[];
  /** How many nodes the running prompt executes, when the editor queued it (0 when unknown). */
  totalNodes: number;
  /** Output images per node id, from `executed` messages. */
  outputs: Record<string, ImageRef[]>;
  /** Newest first, across prompts; capped. */
  gallery: { promptId: string; nodeId: string; image: ImageRef }[];
  error: RuntimeError | null;
  interrupted: boolean;
  queueRemaining: number;
  /** The last prompt that finished, and how. */
  lastFinished: { promptId: string; status: 'success' | 'error' | 'interrupted' } | null;
}

export const GALLERY_LIMIT = 48;

export function initialExecutionState(): ExecutionState {
  return {
    promptId: null, runningNode: null, nodeProgress: {}, doneNodes: [], cachedNodes: [], totalNodes: 0, outputs: {}, gallery: [],
    error: null, interrupted: false, queueRemaining: 0, lastFinished: null,
  };
}

/**
 * The overall fraction of the running prompt in 0..1: the nodes that actually run (cached ones have no work left and
 * are left out of both counts), plus the running node's own progress.
 */
export function overallProgress(state: ExecutionState): number {
  const toRun = state.totalNodes - state.cachedNodes.length;
  if (!state.promptId || toRun <= 0) return 0;
  const running = state.runningNode ? state.nodeProgress[state.runningNode] : undefined;
  const partial = running && running.max > 0 ? running.value / running.max : 0;
  const ran = state.doneNodes.filter((n) => !state.cachedNodes.includes(n)).length;
  return Math.min(1, (ran + partial) / toRun);
}

/**
 * Applies one text message. `totals` maps prompt ids the editor queued to the number of nodes they run.
 * Unknown message types leave the state as it is.
 */
export function reduceExecution(state: ExecutionState, msg: { type: string; data: Record<string, unknown> }, totals: ReadonlyMap<string, number> = new Map()): ExecutionState {
  const d = msg.data;
  const promptId = typeof d.prompt_id === 'string' ? d.prompt_id : null;
  switch (msg.type) {
    case 'status': {
      const remaining = (d.status as { exec_info?: { queue_remaining?: number } } | undefined)?.exec_info?.queue_remaining;
      return typeof remaining === 'number' ? { ...state, queueRemaining: remaining } : state;
    }
    case 'execution_start':
      return {
        ...state, promptId, runningNode: null, nodeProgress: {}, doneNodes: [], cachedNodes: [], totalNodes: (promptId && totals.get(promptId)) || 0,
        error: null, interrupted: false, outputs: {},
      };
    case 'execution_cached': {
      const nodes = Array.isArray(d.nodes) ? d.nodes.map(String) : [];
      return { ...state, promptId: promptId ?? state.promptId, doneNodes: union(state.doneNodes, nodes), cachedNodes: union(state.cachedNodes, nodes) };
    }
    case 'executing': {
      const node = d.node == null ? null : String(d.node);
      const done = state.runningNode ? union(state.doneNodes, [state.runningNode]) : state.doneNodes;
      if (node === null) {
        // The end of a prompt: keep outputs and the error, drop the live parts.
        const finished = state.promptId && state.lastFinished?.promptId !== state.promptId
          ? { promptId: state.promptId, status: state.error ? 'error' as const : state.interrupted ? 'interrupted' as const : 'success' as const }
          : state.lastFinished;
        return { ...state, promptId: null, runningNode: null, nodeProgress: {}, doneNodes: done, lastFinished: finished };
      }
      return { ...state, promptId: promptId ?? state.promptId, runningNode: node, doneNodes: done };
    }
    case 'progress': {
      const node = d.node == null ? state.runningNode : String(d.node);
      if (!node) return state;
      return { ...state, nodeProgress: { ...state.nodeProgress, [node]: { value: Number(d.value) || 0, max: Number(d.max) || 1 } } };
    }
    case 'progress_state': {
      const nodes = (d.nodes ?? {}) as Record<string, { value: number; max: number; state: string }>;
      const nodeProgress = { ...state.nodeProgress };
      let doneNodes = state.doneNodes;
      for (const [id, p] of Object.entries(nodes)) {
        if (p.state === 'running') nodeProgress[id] = { value: p.value, max: p.max || 1 };
        if (p.state === 'finished') doneNodes = union(doneNodes, [id]);
      }
      return { ...state, nodeProgress, doneNodes };
    }
    case 'executed': {
      const node = String(d.display_node ?? d.node);
      const output = (d.output ?? {}) as { images?: ImageRef[] };
      const images = Array.isArray(output.images) ? output.images : [];
      if (!images.length) return state;
      const added = images.map((image) => ({ promptId: promptId ?? '', nodeId: node, image }));
      return {
        ...state,
        outputs: { ...state.outputs, [node]: images },
        gallery: [...added.reverse(), ...state.gallery].slice(0, GALLERY_LIMIT),
      };
    }
    case 'execution_success':
      return { ...state, lastFinished: promptId ? { promptId, status: 'success' } : state.lastFinished };
    case 'execution_error':
      return {
        ...state,
        error: {
          promptId: promptId ?? '', nodeId: String(d.node_id ?? ''), nodeType: String(d.node_type ?? ''),
          message: String(d.exception_message ?? 'error'), type: String(d.exception_type ?? ''),
        },
        lastFinished: promptId ? { promptId, status: 'error' } : state.lastFinished,
      };
    case 'execution_interrupted':
      return { ...state, interrupted: true, lastFinished: promptId ? { promptId, status: 'interrupted' } : state.lastFinished };
    default:
      return state;
  }
}

function union(a: string[], b: string[]): string[] {
  const out = [...a];
  for (const x of b) if (!out.includes(x)) out.push(x);
  return out;
}
