/**
 * The node API: what a node pack declares and what the engine hands a node when it runs.
 * A node class is a declarative definition plus an async `execute`.
 */

/**
 * Model directories per ComfyUI folder name (checkpoints, loras, ...), in search order, and the base directories whose
 * insides a symlinked model file may resolve to.
 */
export interface ModelSearchPaths {
  readonly folders: Readonly<Record<string, readonly string[]>>;
  readonly roots: readonly string[];
}

/** Where a node pack finds its files. Core does no I/O itself; it only carries these paths to the nodes. */
export interface HostEnvironment {
  inputDir: string;
  outputDir: string;
  tempDir: string;
  modelsDir: string;
  /**
   * Every directory searched for each model folder, when the host was given more than `modelsDir` (`--models DIR`,
   * a ComfyUI extra_model_paths.yaml); absent means the ComfyUI folders of `modelsDir` alone.
   */
  modelSearchPaths?: ModelSearchPaths;
  /** Where packs may keep rebuildable caches (built ONNX graphs); defaults to a folder beside the models. */
  cacheDir?: string;
  /** The accelerator model packs should ask for first ('cpu' when absent); they fall back to the CPU when it fails. */
  executionProvider?: 'cpu' | 'cuda' | 'webgpu';
  /** Host-provided services keyed by name (the onnxruntime session pool, for instance). */
  services?: Record<string, unknown>;
  /** Largest decoded image (width × height) image nodes accept; LoadImage refuses bigger files (default 8192²). */
  maxImagePixels?: number;
  /**
   * The host's memory budget in bytes (the server's --max-memory-mb, which validation checks prompts against): work
   * that can be split (VAE batches and tiles) is split to stay under it as well as under the free memory.
   */
  memoryBudgetBytes?: number;
}

/** Computes a combo's options on request, e.g. the files of a folder. */
export type ComboOptionsProvider = (env: HostEnvironment) => readonly string[];

export interface InputDef {
  /**
   * 'INT' | 'FLOAT' | 'STRING' | 'BOOLEAN' | 'COMBO', or a link type such as 'IMAGE';
   * 'A,B' is a union and '*' matches anything.
   */
  type: string;
  /** Combo choices: static, or computed when /object_info or validation asks. */
  options?: readonly string[] | ComboOptionsProvider;
  default?: unknown;
  min?: number;
  max?: number;
  step?: number;
  round?: number | false;
  multiline?: boolean;
  placeholder?: string;
  label_on?: string;
  label_off?: string;
  image_upload?: boolean;
  control_after_generate?: boolean;
  forceInput?: boolean;
  lazy?: boolean;
  tooltip?: string;
  /** A STRING whose `{a|b}` choices and comments ComfyUI's front end resolves before queueing (CLIPTextEncode's text). */
  dynamicPrompts?: boolean;
  /** ComfyUI's front end hides the widget under the node's advanced toggle (the loaders' `device`). */
  advanced?: boolean;
  /** For combos listing model files: the ComfyUI models/ folder they come from (lets hosts name missing files). */
  modelFolder?: string;
}

export type HiddenInputKind = 'PROMPT' | 'EXTRA_PNGINFO' | 'UNIQUE_ID';

export interface OutputDef {
  type: string;
  name?: string;
  isList?: boolean;
  tooltip?: string;
}

/** What `execute` returns: positional outputs, and UI output for `executed` events and history. */
export interface NodeResult {
  outputs?: readonly unknown[];
  ui?: Record<string, unknown>;
}

export interface PreviewImage {
  format: 'JPEG' | 'PNG';
  /** Encoded image bytes; crosses thread boundaries as a transferred buffer. */
  bytes: Uint8Array;
}

export interface NodeLogger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface ExecutionContext {
  nodeId: string;
  /** The id of the node the user sees (differs from nodeId inside flattened subgraphs). */
  displayNodeId: string;
  promptId: string;
  prompt: ApiPrompt;
  extraData: Record<string, unknown>;
  env: HostEnvironment;
  signal: AbortSignal;
  log: NodeLogger;
  /** Reports progress; throws an InterruptedError when the prompt was interrupted. */
  progress(value: number, max: number): void;
  preview(image: PreviewImage): void;
  /**
   * True when a preview sent now would reach someone (previews are on for this run and the host's minimum interval
   * has passed). Making a preview costs time, so nodes ask first and skip the work when nobody would see it.
   */
  previewWanted(): boolean;
}

/** Inputs as a node sees them: constants and upstream values, keyed by input name, hidden inputs included. */
export type NodeInputs = Record<string, unknown>;

export interface NodeDefinition {
  /** The class name (ComfyUI's class_type). */
  name: string;
  displayName?: string;
  category: string;
  description?: string;
  /** The pack that defines it; rendered as `python_module` for client compatibility. */
  pack?: string;
  inputs: {
    required?: Record<string, InputDef>;
    optional?: Record<string, InputDef>;
    hidden?: Record<string, HiddenInputKind>;
  };
  outputs: readonly OutputDef[];
  outputNode?: boolean;
  /** The node receives every input as a whole list instead of running once per element. */
  inputIsList?: boolean;
  /** The node gives a different result for the same inputs (never cached across prompts). */
  notIdempotent?: boolean;
  /**
   * Which of ComfyUI's node APIs defines the node there, which decides its /object_info shape: 'v1' (the classic
   * INPUT_TYPES class, the default) or 'v3' (comfy_api's io.Schema: combos as `["COMBO", {multiselect, options}]`, and
   * `output_tooltips`, `deprecated`, `experimental`, `api_node` always present).
   */
  comfyApi?: 'v1' | 'v3';
  /** ComfyUI's EXPERIMENTAL / is_experimental. */
  experimental?: boolean;
  /** ComfyUI's DEPRECATED / is_deprecated. */
  deprecated?: boolean;
  /** ComfyUI's API_NODE (nodes that call a paid web API; none here, listed for the shape). */
  apiNode?: boolean;
  /** ComfyUI's IS_CHANGED: a value that changes when the node's external state changes. NaN forces a re-run. */
  fingerprint?(inputs: NodeInputs, env: HostEnvironment): unknown | Promise<unknown>;
  /** Custom validation of constant inputs: true, or a message. */
  validate?(inputs: NodeInputs, env: HostEnvironment): true | string | Promise<true | string>;
  /**
   * The inputs `validate` takes over, as ComfyUI's VALIDATE_INPUTS parameters do: their min/max and combo-list checks
   * are skipped (LoadImage accepts `name.png [output]`, which is not among its choices), and a failure is reported per
   * input as `custom_validation_failed` with details `<input> - <message>`.
   */
  validatesInputs?: readonly string[];
  /** For lazy inputs: the names of the lazy inputs still needed given the ones available so far. */
  checkLazy?(inputs: NodeInputs): readonly string[] | Promise<readonly string[]>;
  execute(inputs: NodeInputs, context: ExecutionContext): NodeResult | Promise<NodeResult>;
}

/** A link in an API prompt: [source node id, output index]. */
export type ApiLink = [string, number];

export interface ApiNode {
  class_type: string;
  inputs: Record<string, unknown>;
  _meta?: { title?: string };
}

/** ComfyUI's API prompt format. */
export type ApiPrompt = Record<string, ApiNode>;

/** Declares a node with full type checking of the definition. */
export function defineNode(definition: NodeDefinition): NodeDefinition {
  return definition;
}

/** True when `value` has the shape of a link in an API prompt. */
export function isApiLink(value: unknown): value is ApiLink {
  return (
    Array.isArray(value) &&
    value.length === 2 &&
    (typeof value[0] === 'string' || typeof value[0] === 'number') &&
    typeof value[1] === 'number' &&
    Number.isInteger(value[1])
  );
}

/** A node pack: what each `nodes/<pack>` package exports as `pack` from its index. */
export interface NodePack {
  name: string;
  nodes: readonly NodeDefinition[];
  /**
   * Creates the pack's services for a host that executes prompts (the CLI runner, the server's engine worker), such as
   * an onnxruntime session pool. Hosts merge `services` into `env.services` and call `dispose` on shutdown. Never
   * called for schema-only use (/object_info, validation), so loading a schema starts no inference.
   */
  createServices?(env: HostEnvironment): PackServices | Promise<PackServices>;
}

export interface PackServices {
  services: Record<string, unknown>;
  dispose(): void | Promise<void>;
  /** Drops loaded models (sessions, weights) to give memory back; they load again on next use (/free unload_models). */
  unloadModels?(): void | Promise<void>;
}
