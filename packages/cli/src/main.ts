#!/usr/bin/env node
/**
 * The `uso-studio` command: `serve` starts the server and editor, `run` executes a workflow headless, `worker` runs
 * prompts for a server started with `--queue`, `models demo` writes the demo model set, `models inspect` looks inside
 * weight files, `models run-graph` runs one role's graph.
 */
import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, Option } from 'commander';
import { createEventPrinter, type PrintMode } from './progress-printer.ts';
import {
  RemoteWorker,
  defaultDataDir,
  ensureDemoModels,
  parseExecutionProvider,
  parseServeArgs,
  prepareDataDir,
  startServer,
  workerOptionsFromFlags,
} from '@uso-studio/server';
import { runWorkflow } from './run-workflow.ts';

export async function main(argv: readonly string[]): Promise<number> {
  const program = new Command('uso-studio')
    .description('USO Studio: a ComfyUI-compatible node editor and executor for USO')
    .option('--verbose', 'print stack traces on failure')
    .exitOverride();
  let exitCode = 0;

  program
    .command('serve')
    .description('start the server and editor (default 127.0.0.1:8188)')
    .option('--listen <addr>', 'address to listen on (non-loopback needs --auth-token)')
    .option('--port <n>', 'port')
    .option('--data <dir>', 'data directory (input/, output/, temp/, models/, the queue database)')
    .option('--models <dir>', 'another models folder in ComfyUI\'s layout, searched after the data directory\'s models/; repeatable', collect, [])
    .option('--extra-model-paths <file>', 'a ComfyUI extra_model_paths.yaml: its folders are used in place')
    .option('--auth-token <token>', 'require this bearer token on every request')
    .option('--auth-token-file <file>', 'read the bearer token from a file')
    .option('--extra-packs <specs>', 'comma-separated extra node pack modules')
    .option('--max-queue <n>', 'queue length limit')
    .option('--max-upload-mb <n>', 'upload size limit in MB')
    .option('--requeue-interrupted', 're-queue a prompt that was running when the server died, instead of failing it')
    .option('--max-memory-mb <n>', 'memory a prompt may need by its estimate; bigger prompts are refused at validation (default: half the RAM free at start)')
    .option('--max-text-chars <n>', 'longest text input of a prompt (default 100000)')
    .option('--max-prompt-mb <n>', 'largest prompt JSON (default 4)')
    .option('--max-queue-mb <n>', 'bytes the pending prompts may occupy in the queue database (default 512)')
    .option('--max-image-megapixels <n>', 'largest decoded image for uploads, /view conversions and LoadImage (default 8192x8192, about 67)')
    .option('--reset-queue', 'move the queue database aside (kept as <file>.corrupt-<time>) and start with an empty queue and history')
    .option('--allowed-origins <origins>', 'comma-separated extra origins allowed to make state-changing requests')
    .option('--cache-lru <n>', 'keep up to N node results across prompts (default: only the last prompt\'s)')
    .option('--cache-ram-mb <n>', 'keep node results across prompts within a RAM budget')
    .option('--execution-provider <cpu|cuda|webgpu>', 'accelerator for model sessions; falls back to the CPU when it fails')
    .option('--preview-method <auto|latent2rgb|taesd|none>', "step previews for prompts that do not ask for their own (default none, as ComfyUI)")
    .option('--multi-user', "per-user settings and files picked by the comfy-user header (ComfyUI's --multi-user)")
    .option('--queue <redis-url>', 'run prompts on remote workers through BullMQ on this Redis: redis://[:password@]HOST:PORT[/DB]')
    .option('--public-url <url>', 'with --queue: the URL workers use to reach this server for files (default: the listen URL)')
    .option('--max-stalls <n>', 'with --queue: times a prompt whose worker died goes back to the queue before it fails (default 1; match the workers)')
    .action(async (opts: Record<string, string | boolean | string[] | undefined>) => {
      const args: string[] = [];
      for (const [key, value] of Object.entries(opts)) {
        const flag = `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
        if (value === true) args.push(flag);
        else if (typeof value === 'string') args.push(flag, value);
        else if (Array.isArray(value)) for (const v of value) args.push(flag, v);
      }
      await startServer(parseServeArgs(args));
      await new Promise<never>(() => {}); // runs until a signal closes it
    });

  program
    .command('run')
    .description('run a workflow (UI or API JSON, or a PNG that carries one) without a browser')
    .argument('<workflow>', 'workflow .json or .png')
    .option('--set <node.input=value>', 'override an input (node id, title or class type); repeatable', collect, [])
    .option('--input <dir>', 'folder to read input images from')
    .option('--models <dir>', 'another models folder in ComfyUI\'s layout, searched after the data directory\'s models/; repeatable', collect, [])
    .option('--extra-model-paths <file>', 'a ComfyUI extra_model_paths.yaml: its folders are used in place')
    .option('--out <dir>', 'folder to write outputs to')
    .option('--data <dir>', 'data directory')
    .option('--json', 'print events as JSON lines')
    .option('--execution-provider <cpu|cuda|webgpu>', 'accelerator for model sessions; falls back to the CPU when it fails')
    .addOption(new Option('--pack <spec...>', 'node pack modules to load instead of the defaults').hideHelp())
    .action(async (file: string, opts: { set: string[]; input?: string; models: string[]; extraModelPaths?: string; out?: string; data?: string; json?: boolean; pack?: string[]; executionProvider?: string }) => {
      const mode: PrintMode = opts.json ? 'json' : process.stdout.isTTY ? 'tty' : 'plain';
      const classes = new Map<string, string>();
      const printer = createEventPrinter(mode, (t) => process.stdout.write(t), (id) => classes.get(id) ?? '');
      const result = await runWorkflow(file, {
        overrides: opts.set,
        ...(opts.input ? { inputDir: opts.input } : {}),
        ...(opts.models.length ? { modelDirs: opts.models } : {}),
        ...(opts.extraModelPaths ? { extraModelPathsFile: opts.extraModelPaths } : {}),
        ...(opts.out ? { outputDir: opts.out } : {}),
        ...(opts.data ? { dataDir: opts.data } : {}),
        ...(opts.pack ? { packs: opts.pack } : {}),
        ...(opts.executionProvider ? { executionProvider: parseExecutionProvider(opts.executionProvider) } : {}),
        onPrepared: (prompt) => {
          for (const [id, node] of Object.entries(prompt)) classes.set(id, node.class_type);
        },
        onEvent: (event) => printer.onEvent(event),
        onNotice: (line) => process.stderr.write(`${line}\n`),
        previews: false, // a terminal or a JSON log shows no pictures; skip making them
      });
      printer.finish();
      if (mode === 'json') process.stdout.write(JSON.stringify({ type: 'result', data: { prompt_id: result.promptId, outputs: result.outputs, files: result.files } }) + '\n');
      else for (const f of result.files) process.stdout.write(`wrote ${f}\n`);
    });

  program
    .command('worker')
    .description('run prompts for a server started with --queue (on this or another machine)')
    .requiredOption('--queue <redis-url>', 'the server\'s Redis: redis://[:password@]HOST:PORT[/DB]')
    .option('--models <dir>', 'models folder (default: <data>/models)')
    .option('--data <dir>', 'data directory for this worker (input/output copies, graph cache)')
    .option('--concurrency <n>', 'prompts run at once, each in its own engine thread', '1')
    .option('--execution-provider <cpu|cuda|webgpu>', 'accelerator for model sessions; falls back to the CPU when it fails')
    .option('--name <name>', 'name shown in /system_stats and /queue (default: <hostname>-<pid>)')
    .option('--shared-output <dir>', 'write outputs into this folder (the server\'s output/ on a shared mount) instead of uploading them')
    .option('--shared-input <dir>', 'read input images from this folder (the server\'s input/ on a shared mount) instead of downloading them')
    .option('--cache-lru <n>', 'keep up to N node results across prompts')
    .option('--cache-ram-mb <n>', 'keep node results across prompts within a RAM budget')
    .addOption(new Option('--extra-packs <specs>', 'comma-separated extra node pack modules').hideHelp())
    .addOption(new Option('--packs <specs>', 'comma-separated node pack modules instead of the defaults').hideHelp())
    .addOption(new Option('--prefix <prefix>', 'Redis key prefix (must match the server)').hideHelp())
    .addOption(new Option('--heartbeat-ms <n>', 'announcement interval').hideHelp())
    .option('--lock-ms <n>', 'how long a prompt whose worker stopped responding stays locked before it goes back to the queue (default 30000)')
    .option('--max-stalls <n>', 'times a prompt whose worker died goes back to the queue before it fails (default 1; match the server)')
    .action(async (opts: Record<string, string | boolean | undefined>) => {
      const flags: Record<string, string | boolean | undefined> = {};
      for (const [key, value] of Object.entries(opts)) flags[key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)] = value;
      const options = workerOptionsFromFlags(flags);
      // Like serve: a bare machine gets the demo set, so a first two-machine setup produces pictures at once.
      const dirs = prepareDataDir(options.dataDir ?? defaultDataDir());
      if (!options.packs) await ensureDemoModels(options.modelsDir ?? dirs.modelsDir, dirs.inputDir, (line) => process.stdout.write(`${line}\n`));
      const worker = await RemoteWorker.start(options);
      process.stdout.write(`worker ${worker.name} ready\n`);
      await new Promise<void>((resolve) => {
        const stop = () => void worker.close().then(resolve, resolve);
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });

  const models = program.command('models').description('model files');
  models
    .command('demo')
    .description('write the demo model set (no learned weights) into the models folder')
    .option('--data <dir>', 'data directory')
    .option('--force', 'overwrite existing demo files')
    .action(async (opts: { data?: string; force?: boolean }) => {
      const { generateDemoSet } = await import('./demo-models.ts');
      const written = await generateDemoSet(opts);
      process.stdout.write(written.length ? written.map((f) => `wrote ${f}\n`).join('') : 'demo models already present\n');
    });

  models
    .command('tiny')
    .description('write the tiny real-architecture model set (FLUX DiT, VAE, T5, CLIP, SigLIP, USO LoRA and projector at toy widths, random weights) for tests and install checks')
    .option('--data <dir>', 'data directory')
    .option('--force', 'overwrite existing tiny files')
    .action(async (opts: { data?: string; force?: boolean }) => {
      const { generateTinySet } = await import('./demo-models.ts');
      const written = generateTinySet(opts);
      process.stdout.write(written.length ? written.map((f) => `wrote ${f}\n`).join('') : 'tiny models already present\n');
    });

  models
    .command('inspect')
    .description('show what each weight file holds: architecture, config, dtypes, key prefix, tensors used/ignored/unknown, memory')
    .argument('<files...>', 'safetensors files')
    .option('--json', 'one JSON report per file')
    .option('--all', 'list every tensor name instead of the first few')
    .action(async (files: string[], opts: { json?: boolean; all?: boolean }) => {
      const { inspectFiles } = await import('./models-inspect.ts');
      const ok = inspectFiles(files, { json: opts.json ?? false, verbose: opts.all ?? false }, (t) => process.stdout.write(t), (t) => process.stderr.write(t));
      if (!ok) exitCode = 1;
    });

  models
    .command('run-graph')
    .description("run one role's graph on inputs named by its contract and write all its outputs")
    .argument('<weights...>', 'the weight file')
    .requiredOption('--role <role>', 'dit, vae_encoder, vae_decoder, vision_encoder, projector, t5 or clip')
    .requiredOption('--inputs <file>', 'safetensors file holding the contract inputs by name')
    .requiredOption('--out <file>', 'safetensors file to write the outputs to')
    .option('--lora <file:strength>', 'apply a LoRA (repeatable)', collect, [])
    .option('--data <dir>', 'data directory (graphs are cached in its cache/graphs)')
    .action(async (weights: string[], opts: { role: string; inputs: string; out: string; lora: string[]; data?: string }) => {
      const { runGraphCommand } = await import('./models-run-graph.ts');
      const { defaultDataDir, prepareDataDir } = await import('@uso-studio/server');
      const dirs = prepareDataDir(opts.data ?? defaultDataDir());
      const lines = await runGraphCommand(weights, { ...opts, modelsDir: dirs.modelsDir, cacheDir: join(dirs.cacheDir, 'graphs') });
      process.stdout.write(`wrote ${opts.out}: ${lines.join('; ')}\n`);
    });

  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'commander.helpDisplayed' || code === 'commander.version') return 0;
    if (typeof code === 'string' && code.startsWith('commander.')) return 2;
    // A person gets the message; the stack trace only on request.
    process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    if (program.opts<{ verbose?: boolean }>().verbose && error instanceof Error) process.stderr.write(`${error.stack ?? ''}\n`);
    exitCode = 1;
  }
  return exitCode;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

const entry = process.argv[1];
if (entry && realpathSync(entry) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
