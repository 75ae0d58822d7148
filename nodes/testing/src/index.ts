/**
 * Engine test nodes (never loaded by the server by default). Each node records its runs in a `TestProbe` passed
 * through `env.services.testProbe`, so tests can assert "did run" and "was cached" without global state.
 */
import {
  InterruptedError,
  defineNode,
  type ExecutionContext,
  type HostEnvironment,
  type NodeDefinition,
  type NodeInputs,
  type NodePack,
  type NodeResult,
} from '@uso-studio/core';

/** One execution of a test node. Times come from `performance.now()` (ms). */
export interface TestRunRecord {
  nodeId: string;
  classType: string;
  start: number;
  end: number;
}

/** What test nodes write to: their runs, and per-label counters for TestCounter. */
export interface TestProbe {
  runs: TestRunRecord[];
  counters: Map<string, number>;
}

export function createTestProbe(): TestProbe {
  return { runs: [], counters: new Map() };
}

/** A host environment for engine tests, carrying `probe` as `services.testProbe`. */
export function createTestEnv(probe: TestProbe = createTestProbe()): HostEnvironment {
  return { inputDir: '/nonexistent/input', outputDir: '/nonexistent/output', tempDir: '/nonexistent/temp', modelsDir: '/nonexistent/models', services: { testProbe: probe } };
}

/** Node ids of the recorded runs, in completion order. */
export function ranNodeIds(probe: TestProbe): string[] {
  return probe.runs.map((r) => r.nodeId);
}

function probeOf(context: ExecutionContext): TestProbe | undefined {
  return context.env.services?.['testProbe'] as TestProbe | undefined;
}

/** Wraps `execute` so every run is recorded with its start and end time. */
function recorded(
  name: string,
  execute: (inputs: NodeInputs, context: ExecutionContext) => NodeResult | Promise<NodeResult>,
): NodeDefinition['execute'] {
  return (inputs, context) => {
    const start = performance.now();
    const finish = (result: NodeResult) => {
      probeOf(context)?.runs.push({ nodeId: context.nodeId, classType: name, start, end: performance.now() });
      return result;
    };
    const result = execute(inputs, context);
    return result instanceof Promise ? result.then(finish) : finish(result);
  };
}

/** Waits `ms`, rejecting with InterruptedError as soon as the prompt is interrupted. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new InterruptedError());
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new InterruptedError());
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

const CATEGORY = 'testing';
const INT = { type: 'INT', default: 0, min: -Number.MAX_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER } as const;

export const testConstant = defineNode({
  name: 'TestConstant',
  category: CATEGORY,
  inputs: { required: { value: INT } },
  outputs: [{ type: 'INT', name: 'value' }],
  execute: recorded('TestConstant', (inputs) => ({ outputs: [inputs['value']] })),
});

export const testAdd = defineNode({
  name: 'TestAdd',
  category: CATEGORY,
  inputs: { required: { a: INT, b: INT } },
  outputs: [{ type: 'INT', name: 'sum' }],
  execute: recorded('TestAdd', (inputs) => ({ outputs: [Number(inputs['a']) + Number(inputs['b'])] })),
});

/** Passes `value` through after `ms` milliseconds of waiting (I/O-like: other nodes may run meanwhile). */
export const testSleep = defineNode({
  name: 'TestSleep',
  category: CATEGORY,
  inputs: { required: { value: { type: '*' }, ms: { type: 'INT', default: 10, min: 0, max: 60_000 } } },
  outputs: [{ type: '*', name: 'value' }],
  execute: recorded('TestSleep', async (inputs, context) => {
    await sleep(Number(inputs['ms']), context.signal);
    return { outputs: [inputs['value']] };
  }),
});

/**
 * Mixes two lazy numbers: needs `a` unless ratio is 1 and `b` unless ratio is 0 (ComfyUI's TestLazyMixImages, on
 * numbers), so the unneeded branch never runs.
 */
export const testLazyMix = defineNode({
  name: 'TestLazyMix',
  category: CATEGORY,
  inputs: {
    required: {
      ratio: { type: 'FLOAT', default: 0.5, min: 0, max: 1, step: 0.01 },
      a: { type: 'INT', lazy: true },
      b: { type: 'INT', lazy: true },
    },
  },
  outputs: [{ type: 'FLOAT', name: 'mixed' }],
  checkLazy(inputs) {
    const ratio = Number(inputs['ratio']);
    const needed: string[] = [];
    if (ratio < 1 && inputs['a'] === undefined) needed.push('a');
    if (ratio > 0 && inputs['b'] === undefined) needed.push('b');
    return needed;
  },
  execute: recorded('TestLazyMix', (inputs) => {
    const ratio = Number(inputs['ratio']);
    const a = ratio < 1 ? Number(inputs['a']) : 0;
    const b = ratio > 0 ? Number(inputs['b']) : 0;
    return { outputs: [a * (1 - ratio) + b * ratio] };
  }),
});

/** Chooses a lazy branch by a boolean; only the chosen branch runs. */
export const testSwitch = defineNode({
  name: 'TestSwitch',
  category: CATEGORY,
  inputs: {
    required: {
      switch: { type: 'BOOLEAN', default: true },
      on_true: { type: '*', lazy: true },
      on_false: { type: '*', lazy: true },
    },
  },
  outputs: [{ type: '*', name: 'value' }],
  checkLazy(inputs) {
    const name = inputs['switch'] ? 'on_true' : 'on_false';
    return inputs[name] === undefined ? [name] : [];
  },
  execute: recorded('TestSwitch', (inputs) => ({ outputs: [inputs['switch'] ? inputs['on_true'] : inputs['on_false']] })),
});

/** Has lazy inputs but no checkLazy: the engine then evaluates every lazy input it is linked to. */
export const testLazyDefault = defineNode({
  name: 'TestLazyDefault',
  category: CATEGORY,
  inputs: { required: { a: { type: 'INT', lazy: true } }, optional: { b: { type: 'INT', lazy: true } } },
  outputs: [{ type: 'INT', name: 'sum' }],
  execute: recorded('TestLazyDefault', (inputs) => ({ outputs: [Number(inputs['a'] ?? 0) + Number(inputs['b'] ?? 0)] })),
});

/** Outputs the list start, start + 1, ... (`count` elements); consumers run once per element. */
export const testList = defineNode({
  name: 'TestList',
  category: CATEGORY,
  inputs: { required: { start: INT, count: { type: 'INT', default: 3, min: 0, max: 10_000 } } },
  outputs: [{ type: 'INT', name: 'values', isList: true }],
  execute: recorded('TestList', (inputs) => {
    const start = Number(inputs['start']);
    return { outputs: [Array.from({ length: Number(inputs['count']) }, (_, i) => start + i)] };
  }),
});

/** Takes whole lists (inputIsList): sums every element of `values`. */
export const testListSum = defineNode({
  name: 'TestListSum',
  category: CATEGORY,
  inputIsList: true,
  inputs: { required: { values: { type: 'INT', forceInput: true } } },
  outputs: [{ type: 'INT', name: 'sum' }],
  execute: recorded('TestListSum', (inputs) => ({
    outputs: [(inputs['values'] as number[]).reduce((total, v) => total + Number(v), 0)],
  })),
});

/** An output node: shows its value as UI output `{ text: [value] }`. */
export const testOutput = defineNode({
  name: 'TestOutput',
  category: CATEGORY,
  outputNode: true,
  inputs: { required: { value: { type: '*' } } },
  outputs: [],
  execute: recorded('TestOutput', (inputs) => ({ ui: { text: [inputs['value']] } })),
});

/** Throws `message` when run. */
export const testError = defineNode({
  name: 'TestError',
  category: CATEGORY,
  inputs: { required: { message: { type: 'STRING', default: 'test failure' } }, optional: { value: { type: '*' } } },
  outputs: [{ type: '*', name: 'value' }],
  execute: recorded('TestError', (inputs) => {
    throw new Error(String(inputs['message']));
  }),
});

/** Reports progress `steps` times, waiting `ms` before each step; passes `value` through. */
export const testProgress = defineNode({
  name: 'TestProgress',
  category: CATEGORY,
  inputs: {
    required: { steps: { type: 'INT', default: 3, min: 0, max: 10_000 }, ms: { type: 'INT', default: 0, min: 0, max: 60_000 } },
    optional: { value: { type: '*' } },
  },
  outputs: [{ type: '*', name: 'value' }],
  execute: recorded('TestProgress', async (inputs, context) => {
    const steps = Number(inputs['steps']);
    const ms = Number(inputs['ms']);
    for (let i = 1; i <= steps; i++) {
      if (ms > 0) await new Promise((r) => setTimeout(r, ms));
      context.progress(i, steps);
    }
    return { outputs: [inputs['value'] ?? steps] };
  }),
});

/** Its fingerprint is the `fingerprint` input ("nan" gives NaN, which always re-runs); outputs `value`. */
export const testFingerprint = defineNode({
  name: 'TestFingerprint',
  category: CATEGORY,
  inputs: { required: { value: INT, fingerprint: { type: 'STRING', default: '' } } },
  outputs: [{ type: 'INT', name: 'value' }],
  fingerprint: (inputs) => (inputs['fingerprint'] === 'nan' ? Number.NaN : inputs['fingerprint']),
  execute: recorded('TestFingerprint', (inputs) => ({ outputs: [inputs['value']] })),
});

/** Does nothing and passes `value` through (benchmarks of engine overhead). Not recorded, to keep it a no-op. */
export const testNoOp = defineNode({
  name: 'TestNoOp',
  category: CATEGORY,
  inputs: { required: {}, optional: { value: { type: '*' }, other: { type: '*' }, seed: INT } },
  outputs: [{ type: '*', name: 'value' }],
  execute: (inputs) => ({ outputs: [inputs['value'] ?? null] }),
});

/** Counts its runs per `label` in the probe and outputs the new count. */
export const testCounter = defineNode({
  name: 'TestCounter',
  category: CATEGORY,
  inputs: { required: { label: { type: 'STRING', default: 'counter' } }, optional: { value: { type: '*' } } },
  outputs: [{ type: 'INT', name: 'count' }],
  execute: recorded('TestCounter', (inputs, context) => {
    const probe = probeOf(context);
    const label = String(inputs['label']);
    const count = (probe?.counters.get(label) ?? 0) + 1;
    probe?.counters.set(label, count);
    return { outputs: [count] };
  }),
});

/** Declared not idempotent: never served from a previous prompt's cache. Outputs value + run count. */
export const testNotIdempotent = defineNode({
  name: 'TestNotIdempotent',
  category: CATEGORY,
  notIdempotent: true,
  inputs: { required: { value: INT } },
  outputs: [{ type: 'INT', name: 'value' }],
  execute: recorded('TestNotIdempotent', (inputs) => ({ outputs: [inputs['value']] })),
});

/** An output node that shows its hidden inputs: prompt node count, extra_pnginfo and its own id. */
export const testHidden = defineNode({
  name: 'TestHidden',
  category: CATEGORY,
  outputNode: true,
  inputs: {
    required: {},
    optional: { value: { type: '*' } },
    hidden: { prompt: 'PROMPT', extra_pnginfo: 'EXTRA_PNGINFO', unique_id: 'UNIQUE_ID' },
  },
  outputs: [],
  execute: recorded('TestHidden', (inputs) => ({
    ui: {
      unique_id: [inputs['unique_id']],
      prompt_nodes: [Object.keys((inputs['prompt'] as object | undefined) ?? {}).length],
      extra_pnginfo: [inputs['extra_pnginfo'] ?? null],
    },
  })),
});

/** Sends one PNG preview (the 8-byte PNG signature stands in for an image) and passes `value` through. */
export const testPreview = defineNode({
  name: 'TestPreview',
  category: CATEGORY,
  inputs: { required: {}, optional: { value: { type: '*' } } },
  outputs: [{ type: '*', name: 'value' }],
  execute: recorded('TestPreview', (inputs, context) => {
    context.preview({ format: 'PNG', bytes: new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]) });
    return { outputs: [inputs['value'] ?? null] };
  }),
});

/** Outputs a Float32Array of `length` elements (4 bytes each), for RAM-budget tests. */
export const testBuffer = defineNode({
  name: 'TestBuffer',
  category: CATEGORY,
  inputs: { required: { length: { type: 'INT', default: 256, min: 0, max: 1 << 24 }, fill: INT } },
  outputs: [{ type: 'BUFFER', name: 'buffer' }],
  execute: recorded('TestBuffer', (inputs) => ({ outputs: [new Float32Array(Number(inputs['length'])).fill(Number(inputs['fill']))] })),
});

/** The engine test pack. */
export const pack: NodePack = {
  name: 'testing',
  nodes: [
    testConstant,
    testAdd,
    testSleep,
    testLazyMix,
    testSwitch,
    testLazyDefault,
    testList,
    testListSum,
    testOutput,
    testError,
    testProgress,
    testFingerprint,
    testNoOp,
    testCounter,
    testNotIdempotent,
    testHidden,
    testPreview,
    testBuffer,
  ],
};
