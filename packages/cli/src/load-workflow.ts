/**
 * Reads what the headless runner is given: a UI workflow, an API prompt, or a PNG that carries either. Turns it into
 * an API prompt for a registry, keeping the UI workflow (when there is one) so outputs can carry it.
 */
import { readFileSync } from 'node:fs';
import {
  apiToUi,
  detectWorkflowKind,
  MissingNodeTypesError,
  readPngWorkflow,
  serializeWorkflow,
  toWorkflow,
  uiToApi,
  type ApiPrompt,
  type ObjectInfoEntry,
} from '@uso-studio/core';

export class WorkflowInputError extends Error {
  override name = 'WorkflowInputError';
}

export interface LoadedWorkflow {
  prompt: ApiPrompt;
  /** The UI workflow saved into output PNGs: the given one, or a laid-out conversion of an API prompt. */
  workflow: unknown;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47];

/** Reads a workflow file (.json or .png) into its JSON value. */
export async function readWorkflowFile(path: string): Promise<unknown> {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new WorkflowInputError(code === 'ENOENT' ? `Workflow file not found: ${path}` : `Cannot read workflow file ${path}: ${code ?? String(error)}`);
  }
  if (PNG_SIGNATURE.every((b, i) => bytes[i] === b)) {
    const { workflow, prompt } = await readPngWorkflow(bytes);
    if (workflow !== undefined) return workflow;
    if (prompt !== undefined) return prompt;
    throw new WorkflowInputError(`${path} is a PNG without a 'workflow' or 'prompt' text chunk`);
  }
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as unknown;
  } catch (error) {
    throw new WorkflowInputError(`${path} is not valid JSON: ${(error as Error).message}`);
  }
}

/** Converts a UI workflow or API prompt into an API prompt; a workflow with unknown node types names every one. */
export function toApiPrompt(json: unknown, objectInfo: Record<string, ObjectInfoEntry>): LoadedWorkflow {
  const kind = detectWorkflowKind(json);
  if (kind === 'api') {
    const prompt = json as ApiPrompt;
    let workflow: unknown;
    try {
      workflow = apiToUi(prompt, objectInfo);
    } catch {
      // A prompt with unknown classes still gets validated (and rejected with a clear message) below.
      workflow = undefined;
    }
    return { prompt, workflow };
  }
  if (kind === 'ui') {
    try {
      const parsed = toWorkflow(json);
      return { prompt: uiToApi(parsed, objectInfo).prompt, workflow: serializeWorkflow(parsed) };
    } catch (error) {
      if (error instanceof MissingNodeTypesError) {
        throw new WorkflowInputError(`The workflow uses node types this installation does not have: ${error.types.join(', ')}`);
      }
      throw new WorkflowInputError(`Cannot read the workflow: ${(error as Error).message}`);
    }
  }
  throw new WorkflowInputError('Not a workflow: expected a ComfyUI UI workflow (nodes and links) or an API prompt ({"<id>": {class_type, inputs}})');
}
