/**
 * `runWorkflow`: the headless runner as a library. Loads packs, converts and validates the workflow, runs it in-process
 * with the same engine and events as the server, and returns the outputs.
 */
import { randomUUID } from 'node:crypto';
import { join, resolve } from 'node:path';
import {
  type ApiPrompt,
  validatePrompt,
  type ExecutionEventListener,
  type HostEnvironment,
  type NodeErrors,
  type NodeRegistry,
  type RunOptions,
  type RunOutcome,
  type ValidationError,
} from '@uso-studio/core';
import { DEFAULT_PACKS, defaultDataDir, EngineRuntime, ensureDemoModels, prepareDataDir } from '@uso-studio/server';
import { hostModelSearchPaths } from '@uso-studio/nodes-comfy';
import { applyOverrides, parseOverride, type Override } from './overrides.ts';
import { readWorkflowFile, toApiPrompt } from './load-workflow.ts';
import { workflowWithOverrides } from './workflow-overrides.ts';

export interface RunWorkflowOptions {
  /** Data directory holding input/, output/, temp/ and models/ (default: the server's default data directory). */
  dataDir?: string;
  inputDir?: string;
  outputDir?: string;
  /** The primary models folder (default: the data directory's models/); the demo set is written here when it is empty. */
  modelsDir?: string;
  /** More models folders in ComfyUI's layout, searched after the primary one (`--models DIR`). */
  modelDirs?: readonly string[];
  /** A ComfyUI extra_model_paths.yaml whose folders are searched in place (`--extra-model-paths FILE`). */
  extraModelPathsFile?: string;
  /** `<node>.<input>=<value>` strings or parsed overrides. */
  overrides?: readonly (string | Override)[];
  /** Accelerator for model sessions (default cpu); a provider that fails falls back to the CPU with a log line. */
  executionProvider?: HostEnvironment['executionProvider'];
  /** Node pack module specifiers (default: the server's default packs). */
  packs?: readonly string[];
  onEvent?: ExecutionEventListener;
  /** Step previews: on by default when `onEvent` is given (see the Executor's RunOptions). */
  previews?: RunOptions['previews'];
  /** Receives notices for a person (e.g. that the demo model set was written into an empty models folder). */
  onNotice?: (line: string) => void;
  /** Called with the validated prompt just before it runs (the CLI names node classes from it). */
  onPrepared?: (prompt: ApiPrompt) => void;
  signal?: AbortSignal;
  promptId?: string;
}

export interface RunWorkflowResult {
  promptId: string;
  status: RunOutcome['status'];
  /** UI output per output node id, e.g. `{images: [{filename, subfolder, type}]}`. */
  outputs: RunOutcome['outputs'];
  /** Absolute paths of the files the outputs reference. */
  files: string[];
  outcome: RunOutcome;
}

/** A failure a person can act on; the CLI prints its message without a stack trace. */
export class WorkflowRunError extends Error {
  override name = 'WorkflowRunError';
}

/**
 * Runs a workflow (a path to .json/.png, or the parsed JSON of a UI workflow or API prompt).
 *
 * @example
 * const { files } = await runWorkflow('workflows/uso-style-subject.json', { overrides: ['KSampler.seed=7'] });
 */
export async function runWorkflow(workflow: unknown, options: RunWorkflowOptions = {}): Promise<RunWorkflowResult> {
  const json = typeof workflow === 'string' ? await readWorkflowFile(workflow) : workflow;
  const dirs = prepareDataDir(options.dataDir ?? defaultDataDir());
  const env: Omit<HostEnvironment, 'services'> = {
    inputDir: resolve(options.inputDir ?? dirs.inputDir),
    outputDir: resolve(options.outputDir ?? dirs.outputDir),
    tempDir: dirs.tempDir,
    modelsDir: resolve(options.modelsDir ?? dirs.modelsDir),
    modelSearchPaths: hostModelSearchPaths(resolve(options.modelsDir ?? dirs.modelsDir), {
      ...(options.modelDirs ? { modelDirs: options.modelDirs } : {}),
      ...(options.extraModelPathsFile ? { extraModelPathsFile: options.extraModelPathsFile } : {}),
      report: options.onNotice ?? (() => {}),
    }),
    cacheDir: dirs.cacheDir,
    ...(options.executionProvider ? { executionProvider: options.executionProvider } : {}),
  };
  // Like the server's first start: a bare machine gets the demo set, so the runner produces a picture at once.
  await ensureDemoModels(env.modelsDir, env.inputDir, options.onNotice ?? (() => {}));
  // The same set-up as the server's engine worker: packs, their services and the executor.
  const runtime = await EngineRuntime.create({ packs: options.packs ?? DEFAULT_PACKS, env });
  try {
    return await runPrepared(json, runtime, options);
  } finally {
    await runtime.dispose();
  }
}

async function runPrepared(json: unknown, runtime: EngineRuntime, options: RunWorkflowOptions): Promise<RunWorkflowResult> {
  const { registry, env } = runtime;
  const loaded = toApiPrompt(json, registry.objectInfo(env));
  const overrides = (options.overrides ?? []).map((o) => (typeof o === 'string' ? parseOverride(o) : o));
  const prompt = applyOverrides(loaded.prompt, overrides);

  const validation = await validatePrompt(prompt, registry, env);
  if (!validation.ok) throw new WorkflowRunError(formatValidationFailure(validation.error, validation.nodeErrors, registry));
  if (Object.keys(validation.nodeErrors).length > 0) {
    throw new WorkflowRunError(formatValidationFailure(undefined, validation.nodeErrors, registry));
  }

  options.onPrepared?.(validation.prompt);
  const promptId = options.promptId ?? randomUUID();
  const savedWorkflow = loaded.workflow === undefined || overrides.length === 0
    ? loaded.workflow
    : workflowWithOverrides(loaded.workflow, loaded.prompt, prompt, registry.objectInfo(env));
  const extraData = savedWorkflow === undefined ? {} : { extra_pnginfo: { workflow: savedWorkflow } };
  const outcome = await runtime.run(validation.prompt, {
    promptId,
    extraData,
    outputs: validation.outputs,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onEvent ? { onEvent: options.onEvent } : {}),
    ...(options.previews !== undefined ? { previews: options.previews } : {}),
  });
  if (outcome.status === 'error' && outcome.error) {
    const e = outcome.error;
    throw new WorkflowRunError(`Node ${e.node_id} (${e.node_type}) failed: ${e.exception_message}`);
  }
  if (outcome.status === 'interrupted') throw new WorkflowRunError('The run was interrupted');
  return { promptId, status: outcome.status, outputs: outcome.outputs, files: outputFiles(outcome.outputs, env), outcome };
}

function outputFiles(outputs: RunOutcome['outputs'], env: HostEnvironment): string[] {
  const files: string[] = [];
  for (const ui of Object.values(outputs)) {
    for (const list of Object.values(ui)) {
      if (!Array.isArray(list)) continue;
      for (const item of list as { filename?: unknown; subfolder?: unknown; type?: unknown }[]) {
        if (typeof item?.filename !== 'string') continue;
        const base = item.type === 'temp' ? env.tempDir : item.type === 'input' ? env.inputDir : env.outputDir;
        files.push(join(base, typeof item.subfolder === 'string' ? item.subfolder : '', item.filename));
      }
    }
  }
  return files;
}

/** One readable block: the prompt-level error, each node's errors, and the model files and input images that are missing. */
export function formatValidationFailure(error: ValidationError | undefined, nodeErrors: NodeErrors, registry: NodeRegistry): string {
  const lines: string[] = [];
  if (error && error.type !== 'prompt_outputs_failed_validation') lines.push(`${error.message}${error.details ? `: ${error.details}` : ''}`);
  else lines.push('The workflow failed validation:');
  const missingModels = new Set<string>();
  const missingImages = new Set<string>();
  for (const [id, entry] of Object.entries(nodeErrors)) {
    for (const e of entry.errors) {
      lines.push(`  node ${id} (${entry.class_type}): ${e.message}${e.details ? ` — ${e.details}` : ''}`);
      const missing = missingFile(registry, entry.class_type, e);
      if (missing?.kind === 'model') missingModels.add(missing.path);
      if (missing?.kind === 'image') missingImages.add(missing.path);
    }
  }
  if (missingModels.size > 0) {
    lines.push('Model files it needs that are not in the models folder:');
    for (const m of [...missingModels].sort()) lines.push(`  models/${m}`);
  }
  if (missingImages.size > 0) {
    lines.push('Input images it needs that are not in the input folder (pass --input DIR or --set <node>.image=<file>):');
    for (const m of [...missingImages].sort()) lines.push(`  ${m}`);
  }
  return lines.join('\n');
}

/**
 * The file an error is about: a value_not_in_list on an input listing model files or uploadable images, or
 * LoadImage's own check (ComfyUI's custom_validation_failed, details `image - Invalid image file: NAME`).
 */
function missingFile(registry: NodeRegistry, classType: string, error: ValidationError): { kind: 'model' | 'image'; path: string } | undefined {
  const inputName = error.extra_info.input_name;
  if (error.type === 'custom_validation_failed' && typeof inputName === 'string') {
    const invalid = /^[^ ]+ - Invalid image file: (.+)$/.exec(error.details);
    const def = registry.get(classType);
    const input = def?.inputs.required?.[inputName] ?? def?.inputs.optional?.[inputName];
    return invalid && input?.image_upload ? { kind: 'image', path: invalid[1]! } : undefined;
  }
  if (error.type !== 'value_not_in_list') return undefined;
  const value = error.extra_info.received_value;
  if (typeof inputName !== 'string' || typeof value !== 'string') return undefined;
  const def = registry.get(classType);
  const input = def?.inputs.required?.[inputName] ?? def?.inputs.optional?.[inputName];
  if (input?.modelFolder) return { kind: 'model', path: `${input.modelFolder}/${value}` };
  if (input?.image_upload) return { kind: 'image', path: value };
  return undefined;
}
