/** Shared set-up for engine tests: an executor over the testing node pack, with a probe that records runs. */
import { Executor, NodeRegistry, type ApiPrompt, type CachePolicy, type ExecutionEvent, type RunOptions, type RunOutcome } from '../../packages/core/src/index.ts';
import { createTestEnv, createTestProbe, pack, type TestProbe } from '../../nodes/testing/src/index.ts';

export interface EngineHarness {
  executor: Executor;
  probe: TestProbe;
  /** Runs a prompt; returns the outcome, the events, and the node ids whose execute ran during this run. */
  run(prompt: ApiPrompt, options?: Partial<RunOptions>): Promise<{ outcome: RunOutcome; events: ExecutionEvent[]; ran: string[] }>;
}

export function createHarness(cache?: CachePolicy): EngineHarness {
  const probe = createTestProbe();
  const quiet = { debug() {}, info() {}, warn() {}, error() {} };
  const executor = new Executor({ registry: new NodeRegistry(pack.nodes), env: createTestEnv(probe), logger: quiet, ...(cache ? { cache } : {}) });
  let count = 0;
  return {
    executor,
    probe,
    async run(prompt, options = {}) {
      const events: ExecutionEvent[] = [];
      const before = probe.runs.length;
      const outcome = await executor.run(prompt, {
        promptId: `prompt-${++count}`,
        ...options,
        onEvent: (event) => {
          events.push(event);
          options.onEvent?.(event);
        },
      });
      return { outcome, events, ran: probe.runs.slice(before).map((r) => r.nodeId) };
    },
  };
}

/** constant -> add(seed) -> add -> output: a stand-in for loader -> sampler -> decode -> save. */
export function pipeline(seed: number): ApiPrompt {
  return {
    loader: { class_type: 'TestConstant', inputs: { value: 100 } },
    sampler: { class_type: 'TestAdd', inputs: { a: ['loader', 0], b: seed } },
    decode: { class_type: 'TestAdd', inputs: { a: ['sampler', 0], b: 1 } },
    save: { class_type: 'TestOutput', inputs: { value: ['decode', 0] } },
  };
}
