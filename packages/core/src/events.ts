/**
 * Execution events, named and shaped exactly as ComfyUI's WebSocket messages so the server can forward them unchanged.
 */

export interface ExecutionStartEvent { type: 'execution_start'; data: { prompt_id: string; timestamp: number } }
export interface ExecutionCachedEvent { type: 'execution_cached'; data: { nodes: string[]; prompt_id: string; timestamp: number } }
export interface ExecutingEvent { type: 'executing'; data: { node: string | null; display_node?: string; prompt_id: string } }
export interface ProgressEvent { type: 'progress'; data: { value: number; max: number; prompt_id: string; node: string } }
export interface ProgressStateEvent {
  type: 'progress_state';
  data: {
    prompt_id: string;
    nodes: Record<string, {
      value: number;
      max: number;
      state: 'pending' | 'running' | 'finished' | 'error';
      node_id: string;
      display_node_id: string;
      /** The node that expanded into this one; null for a node of the prompt itself (ComfyUI's dynprompt). */
      parent_node_id: string | null;
      /** The prompt's node this one stands for (itself, without node expansion). */
      real_node_id: string;
      prompt_id: string;
    }>;
  };
}
export interface ExecutedEvent { type: 'executed'; data: { node: string; display_node: string; output: Record<string, unknown>; prompt_id: string } }
export interface ExecutionSuccessEvent { type: 'execution_success'; data: { prompt_id: string; timestamp: number } }
export interface ExecutionErrorEvent {
  type: 'execution_error';
  data: {
    prompt_id: string;
    node_id: string;
    node_type: string;
    executed: string[];
    exception_message: string;
    exception_type: string;
    traceback: string[];
    current_inputs: Record<string, unknown>;
    /** Ids of the prompt's nodes whose results were already cached when it started (ComfyUI's list). */
    current_outputs: string[];
    timestamp: number;
  };
}
export interface ExecutionInterruptedEvent {
  type: 'execution_interrupted';
  data: { prompt_id: string; node_id: string; node_type: string; executed: string[]; timestamp: number };
}
/** A sampler preview; the server turns it into a binary frame (type 1 or 4). */
export interface PreviewEvent {
  type: 'preview';
  data: { prompt_id: string; node_id: string; display_node_id: string; parent_node_id: string | null; real_node_id: string; format: 'JPEG' | 'PNG'; bytes: Uint8Array };
}

export type ExecutionEvent =
  | ExecutionStartEvent
  | ExecutionCachedEvent
  | ExecutingEvent
  | ProgressEvent
  | ProgressStateEvent
  | ExecutedEvent
  | ExecutionSuccessEvent
  | ExecutionErrorEvent
  | ExecutionInterruptedEvent
  | PreviewEvent;

export type ExecutionEventListener = (event: ExecutionEvent) => void;
