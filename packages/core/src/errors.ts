/**
 * Named engine errors. Each message names the node (and input) at fault; `toErrorPayload` turns any failure into
 * one serialisable shape for events and HTTP.
 */

export class EngineError extends Error {
  override name = 'EngineError';
}

export class UnknownNodeTypeError extends EngineError {
  override name = 'UnknownNodeTypeError';
  constructor(readonly nodeId: string, readonly classType: string) {
    super(`Node ${nodeId}: unknown node type '${classType}'`);
  }
}

export class BadInputError extends EngineError {
  override name = 'BadInputError';
  constructor(readonly nodeId: string, readonly inputName: string, detail: string) {
    super(`Node ${nodeId}, input '${inputName}': ${detail}`);
  }
}

export class DependencyCycleError extends EngineError {
  override name = 'DependencyCycleError';
  constructor(readonly nodeIds: readonly string[]) {
    super(`Dependency cycle between nodes ${nodeIds.join(', ')}`);
  }
}

/** Raised by `progress` and between nodes once the prompt's AbortSignal fires. */
export class InterruptedError extends EngineError {
  override name = 'InterruptedError';
  constructor() {
    super('Prompt was interrupted');
  }
}

/** A node's `execute` threw; wraps the cause and names the node. */
export class NodeExecutionError extends EngineError {
  override name = 'NodeExecutionError';
  constructor(readonly nodeId: string, readonly classType: string, override readonly cause: unknown) {
    super(`Node ${nodeId} (${classType}) failed: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

export interface ErrorPayload {
  type: string;
  message: string;
  traceback: string[];
}

/** One serialisable shape for any thrown value. */
export function toErrorPayload(error: unknown): ErrorPayload {
  if (error instanceof Error) {
    return { type: error.name, message: error.message, traceback: (error.stack ?? '').split('\n').slice(1).map((l) => l.trim()) };
  }
  return { type: 'Error', message: String(error), traceback: [] };
}
