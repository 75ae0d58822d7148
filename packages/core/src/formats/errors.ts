/**
 * Errors raised by the workflow format converters. Both extend the engine's base error, so `toErrorPayload` and the
 * server's error mapping treat them like every other named engine failure.
 */
import { EngineError } from '../errors.ts';

/** A document is not a readable ComfyUI workflow or prompt. The message names the offending path (e.g. `nodes[3].inputs`). */
export class WorkflowFormatError extends EngineError {
  override name = 'WorkflowFormatError';
  constructor(
    message: string,
    /** JSON path of the offending value, when there is one. */
    readonly path?: string,
  ) {
    super(path ? `${path}: ${message}` : message);
  }
}

/** A workflow uses node classes the host does not provide. `types` lists every missing class, sorted and unique. */
export class MissingNodeTypesError extends EngineError {
  override name = 'MissingNodeTypesError';
  readonly types: readonly string[];
  constructor(types: Iterable<string>) {
    const sorted = [...new Set(types)].sort();
    super(`Workflow uses ${sorted.length} missing node type${sorted.length === 1 ? '' : 's'}: ${sorted.join(', ')}`);
    this.types = sorted;
  }
}
