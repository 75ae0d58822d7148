/**
 * The in-process USO pipeline harness of the pipeline benches (uso-pipeline with the demo set, tiny-set with the tiny
 * real-architecture set): default packs and their services over a models folder, one Executor whose cache lives across
 * prompts, and `run`, which times a prompt the way the worker runs it: wall time, the sampler node's time, the time
 * inside onnxruntime's session.run while the sampler executes (the session pool's timing hook), per-step wall and ORT
 * time between the sampler's progress events.
 */
import { Executor, validatePrompt, type ApiPrompt, type ExecutionEvent, type HostEnvironment, type NodeRegistry, type PackServices, type RunOptions } from '../../packages/core/src/index.ts';
import { buildRegistry, DEFAULT_PACKS, loadPacks } from '../../packages/server/src/index.ts';
import type { ModelService } from '../../nodes/comfy/src/index.ts';

export interface Timed {
  ms: number;
  /** Wall time of the sampler node (executing -> next node). */
  samplerMs: number;
  /** Time inside onnxruntime's session.run while the sampler executed, and how many runs that was. */
  samplerOrtMs: number;
  samplerRuns: number;
  /** Between the first and the last progress event of the sampler: wall time per step and ORT time per step. */
  stepMs: number;
  stepOrtMs: number;
  executed: number;
}

export interface PipelineHarness {
  registry: NodeRegistry;
  env: HostEnvironment;
  executor: Executor;
  logLines: string[];
  newExecutor(): Executor;
  run(prompt: ApiPrompt, on?: Executor, previews?: RunOptions['previews']): Promise<Timed>;
  dispose(): Promise<void>;
}

/** Share of a step's wall time spent outside onnxruntime. */
export const outsideOrt = (t: Timed): number => 1 - t.stepOrtMs / t.stepMs;

/** Sets up packs and services over `env` (models already in env.modelsDir); `sampler` is the sampler node's id. */
export async function createPipelineHarness(env: HostEnvironment, sampler: string): Promise<PipelineHarness> {
  const services: PackServices[] = [];
  const packs = await loadPacks(DEFAULT_PACKS);
  const registry = buildRegistry(packs);
  env.services ??= {};
  for (const pack of packs) {
    if (!pack.createServices) continue;
    const created = await pack.createServices(env);
    services.push(created);
    Object.assign(env.services!, created.services);
  }
  const models = env.services!.models as ModelService;
  const logLines: string[] = [];
  const logger = { debug() {}, info: (l: string) => logLines.push(l), warn: (l: string) => logLines.push(l), error: (l: string) => logLines.push(l) };
  const newExecutor = () => new Executor({ registry, env, logger });
  const executor = newExecutor();

  // Sum of time inside onnxruntime, attributed to the node executing at the time (nodes run one at a time).
  let current: string | null = null;
  let ortMs = 0;
  let ortRuns = 0;
  let ortSinceFirstStep = 0;
  let firstStepAt = 0;
  models.pool.onRunTimed = (_session, ms) => {
    if (current === sampler) {
      ortMs += ms;
      ortRuns++;
      if (firstStepAt > 0) ortSinceFirstStep += ms;
    }
  };
  let runs = 0;
  const run = async (prompt: ApiPrompt, on: Executor = executor, previews: RunOptions['previews'] = false): Promise<Timed> => {
    const validation = await validatePrompt(prompt, registry, env);
    if (!validation.ok || Object.keys(validation.nodeErrors).length) throw new Error(`bench prompt invalid: ${JSON.stringify(validation)}`);
    ortMs = 0;
    ortRuns = 0;
    let samplerStart = 0;
    let samplerMs = 0;
    let lastStepAt = 0;
    let ortAtLastStep = 0;
    let steps = 0;
    firstStepAt = 0;
    ortSinceFirstStep = 0;
    /** Nodes whose execute ran in this run (cached ones get no 'executing' event). */
    let executed = 0;
    const onEvent = (event: ExecutionEvent) => {
      if (event.type === 'executing' && event.data.node !== null) executed++;
      if (event.type === 'progress' && event.data.node === sampler) {
        // Step i's DiT run comes before its progress event, so the window (first, last] holds steps 2..n whole.
        const now = performance.now();
        if (firstStepAt === 0) firstStepAt = now;
        lastStepAt = now;
        ortAtLastStep = ortSinceFirstStep;
        steps++;
        return;
      }
      if (event.type !== 'executing') return;
      const now = performance.now();
      if (current === sampler) samplerMs = now - samplerStart;
      current = event.data.node;
      if (current === sampler) samplerStart = now;
    };
    const started = performance.now();
    const outcome = await on.run(validation.prompt, { promptId: `bench-${++runs}`, outputs: validation.outputs, onEvent, previews });
    const ms = performance.now() - started;
    if (outcome.status !== 'success') throw new Error(`bench run failed: ${JSON.stringify(outcome.error)}`);
    const stepMs = (lastStepAt - firstStepAt) / (steps - 1);
    return { ms, samplerMs, samplerOrtMs: ortMs, samplerRuns: ortRuns, stepMs, stepOrtMs: ortAtLastStep / (steps - 1), executed };
  };
  return {
    registry, env, executor, logLines, newExecutor, run,
    async dispose() {
      for (const s of services.reverse()) await s.dispose();
    },
  };
}
