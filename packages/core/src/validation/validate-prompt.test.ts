import { describe, expect, it } from 'vitest';
import { defineNode, type ApiPrompt, type NodeDefinition, type NodeInputs } from '../node-api.ts';
import { NodeRegistry } from '../registry.ts';
import { sampleEnv, sampleNodes, sampleWorkflow } from './sample-graph.ts';
import { validatePrompt, type ValidationResult } from './validate-prompt.ts';
import type { ValidationError } from './validation-errors.ts';

const noop = () => ({ outputs: [] });
const seenByHook: NodeInputs[] = [];

const extraNodes: NodeDefinition[] = [
  defineNode({
    name: 'AsyncCheck',
    category: 'test',
    inputs: { required: { image: { type: 'IMAGE' }, level: { type: 'INT', min: 0, max: 10 } } },
    outputs: [],
    outputNode: true,
    validate: async (inputs) => {
      seenByHook.push(inputs);
      await new Promise((r) => setTimeout(r, 1));
      return inputs['level'] === 7 ? 'level 7 is reserved' : true;
    },
    execute: noop,
  }),
  defineNode({
    name: 'Thrower',
    category: 'test',
    inputs: { required: { image: { type: 'IMAGE' } } },
    outputs: [],
    outputNode: true,
    validate: () => {
      throw new TypeError('hook exploded');
    },
    execute: noop,
  }),
  defineNode({
    name: 'Rejecter',
    category: 'test',
    inputs: { required: { image: { type: 'IMAGE' } } },
    outputs: [],
    outputNode: true,
    validate: () => Promise.reject(new RangeError('async hook exploded')),
    execute: noop,
  }),
  defineNode({
    name: 'BadProvider',
    category: 'test',
    inputs: {
      required: {
        choice: {
          type: 'COMBO',
          options: () => {
            throw new Error('cannot list folder');
          },
        },
      },
    },
    outputs: [],
    outputNode: true,
    execute: noop,
  }),
  defineNode({
    name: 'LongCombo',
    category: 'test',
    inputs: { required: { choice: { type: 'COMBO', options: Array.from({ length: 25 }, (_, i) => `model_${i}.safetensors`) } } },
    outputs: [],
    outputNode: true,
    execute: noop,
  }),
  defineNode({
    name: 'LowerImage',
    category: 'test',
    inputs: {},
    outputs: [{ type: 'image' }],
    execute: noop,
  }),
  defineNode({
    name: 'Images',
    category: 'test',
    inputs: {},
    outputs: [{ type: 'IMAGE' }, { type: 'MASK' }],
    execute: noop,
  }),
];

const registry = new NodeRegistry([...sampleNodes, ...extraNodes]);
const validate = (prompt: unknown, targets?: readonly string[]) =>
  validatePrompt(prompt, registry, sampleEnv, targets ? { partialExecutionTargets: targets } : undefined);

function expectOk(result: ValidationResult): Extract<ValidationResult, { ok: true }> {
  if (!result.ok) throw new Error(`expected ok, got ${JSON.stringify(result, null, 1)}`);
  return result;
}
function expectFail(result: ValidationResult): Extract<ValidationResult, { ok: false }> {
  if (result.ok) throw new Error(`expected failure, got ok with outputs ${result.outputs.join(',')}`);
  return result;
}
/** The errors reported for one node. */
function errorsOf(result: ValidationResult, id: string): ValidationError[] {
  return result.nodeErrors[id]?.errors ?? [];
}
function inputs(prompt: ApiPrompt, id: string): Record<string, unknown> {
  return prompt[id]!.inputs;
}

/** A small graph: image source 'src' feeding a Preview 'out'. */
const tiny = (image: unknown = ['src', 0]): ApiPrompt => ({
  src: { class_type: 'Images', inputs: {} },
  out: { class_type: 'Preview', inputs: { images: image } },
});

describe('validatePrompt: valid prompts', () => {
  it('accepts the sample workflow and lists every output node', async () => {
    const prompt = sampleWorkflow(20);
    const result = expectOk(await validate(prompt));
    expect(result.outputs).toEqual(['8', '16', '20']);
    expect(result.nodeErrors).toEqual({});
    expect(result.prompt).toEqual(prompt);
    expect(result.prompt).not.toBe(prompt);
  });

  it('converts constants like ComfyUI and leaves the input prompt untouched', async () => {
    const prompt = sampleWorkflow(10);
    Object.assign(inputs(prompt, '5'), { steps: '30', cfg: '3.5', seed: 7.9, denoise: '1' });
    Object.assign(inputs(prompt, '7'), { crop: 'false', factor: 2 });
    inputs(prompt, '2')['text'] = 42;
    const before = structuredClone(prompt);
    const result = expectOk(await validate(prompt));
    expect(inputs(result.prompt, '5')).toMatchObject({ steps: 30, cfg: 3.5, seed: 7, denoise: 1 });
    expect(inputs(result.prompt, '7')).toMatchObject({ crop: false, factor: 2 });
    expect(inputs(result.prompt, '2')['text']).toBe('42');
    expect(prompt).toEqual(before);
  });

  it('unwraps {"__value__": ...} widget values', async () => {
    const prompt = sampleWorkflow(10);
    inputs(prompt, '5')['steps'] = { __value__: '12' };
    const result = expectOk(await validate(prompt));
    expect(inputs(result.prompt, '5')['steps']).toBe(12);
  });

  it('does not require hidden inputs and allows missing optional ones', async () => {
    const prompt = sampleWorkflow(10);
    delete inputs(prompt, '7')['crop'];
    const result = expectOk(await validate(prompt));
    expect(result.outputs).toEqual(['8', '10']);
  });

  it('accepts numeric link ids and normalises them to strings', async () => {
    const prompt: ApiPrompt = { '1': { class_type: 'Images', inputs: {} }, '2': { class_type: 'Preview', inputs: { images: [1, 0] } } };
    const result = expectOk(await validate(prompt));
    expect(inputs(result.prompt, '2')['images']).toEqual(['1', 0]);
  });

  it('keeps unknown constant inputs and drops unknown links', async () => {
    const prompt = tiny();
    Object.assign(inputs(prompt, 'out'), { note: 'hello', stray: ['nowhere', 0] });
    const result = expectOk(await validate(prompt));
    expect(inputs(result.prompt, 'out')).toEqual({ images: ['src', 0], note: 'hello' });
  });

  it('ignores broken nodes that no output depends on', async () => {
    const prompt = tiny();
    prompt['loose'] = { class_type: 'Scale', inputs: { image: ['ghost', 0], factor: 'abc' } };
    const result = expectOk(await validate(prompt));
    expect(result.nodeErrors).toEqual({});
    expect(result.prompt['loose']).toBeDefined();
  });
});

describe('validatePrompt: prompt-level errors', () => {
  it.each([null, undefined, [], 5, 'prompt', true, {}])('no_prompt for %j', async (value) => {
    const result = expectFail(await validate(value));
    expect(result.error).toEqual({ type: 'no_prompt', message: 'No prompt provided', details: 'No prompt provided', extra_info: {} });
    expect(result.nodeErrors).toEqual({});
  });

  it("invalid_prompt for an unknown class: ComfyUI's message, the node id in details, empty extra_info", async () => {
    const prompt = tiny();
    prompt['9'] = { class_type: 'NoSuchNode', inputs: {}, _meta: { title: 'Mystery' } };
    const { error } = expectFail(await validate(prompt));
    expect(error.type).toBe('invalid_prompt');
    expect(error.message).toBe('Cannot execute because node NoSuchNode does not exist.');
    expect(error.details).toBe("Node ID '#9'");
    expect(error.extra_info).toEqual({});
  });

  it("invalid_prompt for a node without class_type: ComfyUI's message, the node id in details, empty extra_info", async () => {
    for (const node of [{ inputs: {}, _meta: { title: 'Untyped' } }, { class_type: 5, inputs: {} }]) {
      const { error } = expectFail(await validate({ ...tiny(), '9': node }));
      expect(error).toEqual({
        type: 'invalid_prompt',
        message: 'Cannot execute because a node is missing the class_type property.',
        details: "Node ID '#9'",
        extra_info: {},
      });
    }
  });

  it.each([
    ['a node that is not an object', [1, 2], /node #9 is not an object/],
    ['a null node', null, /node #9 is not an object/],
    ['inputs that are not an object', { class_type: 'Images', inputs: [1] }, /node #9 \(Images\) has malformed inputs/],
  ])('invalid_prompt for %s', async (_, node, message) => {
    const prompt: Record<string, unknown> = { ...tiny(), '9': node };
    const { error } = expectFail(await validate(prompt));
    expect(error.type).toBe('invalid_prompt');
    expect(error.message).toMatch(message);
  });

  it('treats a missing inputs object as no inputs', async () => {
    const prompt: Record<string, unknown> = { src: { class_type: 'Images' }, out: { class_type: 'Preview' } };
    const result = expectFail(await validate(prompt));
    expect(result.error.type).toBe('prompt_outputs_failed_validation');
    expect(errorsOf(result, 'out').map((e) => e.type)).toEqual(['required_input_missing']);
  });

  it('prompt_no_outputs when no node is an output node', async () => {
    const { error } = expectFail(await validate({ '1': { class_type: 'Images', inputs: {} } }));
    expect(error).toEqual({ type: 'prompt_no_outputs', message: 'Prompt has no outputs', details: '', extra_info: {} });
  });

  it('prompt_outputs_failed_validation lists every error in its details', async () => {
    const prompt = sampleWorkflow(10);
    inputs(prompt, '5')['cfg'] = 'abc';
    delete inputs(prompt, '4')['width'];
    const result = expectFail(await validate(prompt));
    expect(result.error.type).toBe('prompt_outputs_failed_validation');
    expect(result.error.message).toBe('Prompt outputs failed validation');
    expect(result.error.details.split('\n').sort()).toEqual([
      "Failed to convert an input value to a FLOAT value: cfg, abc, could not convert string to float: 'abc'",
      'Required input is missing: width',
    ]);
  });
});

describe('validatePrompt: input errors', () => {
  it('required_input_missing', async () => {
    const prompt = sampleWorkflow(10);
    delete inputs(prompt, '5')['seed'];
    const result = expectFail(await validate(prompt));
    expect(errorsOf(result, '5')).toEqual([
      { type: 'required_input_missing', message: 'Required input is missing', details: 'seed', extra_info: { input_name: 'seed' } },
    ]);
    expect(result.nodeErrors['5']!.class_type).toBe('Sampler');
    expect(result.nodeErrors['5']!.dependent_outputs).toEqual(['8', '10']);
  });

  it('reports errors only on the failing node, not on the nodes downstream of it', async () => {
    const prompt = sampleWorkflow(10);
    delete inputs(prompt, '5')['seed'];
    const result = expectFail(await validate(prompt));
    expect(Object.keys(result.nodeErrors)).toEqual(['5']);
  });

  it.each([
    ['a link to a missing output slot', ['src', 2], /node #src \(Images\) has no output 2/],
    ['a three-element list', ['src', 0, 1], /must be a length-2 list/],
    ['a non-integer slot', ['src', 0.5], /must be a length-2 list/],
    ['a negative slot', ['src', -1], /must be a length-2 list/],
    ['a string slot', ['src', '0'], /must be a length-2 list/],
    ['an object id', [{}, 0], /must be a length-2 list/],
    ['an empty list', [], /must be a length-2 list/],
  ])('bad_linked_input for %s', async (_, link, message) => {
    const result = expectFail(await validate(tiny(link)));
    const [error] = errorsOf(result, 'out');
    expect(error!.type).toBe('bad_linked_input');
    expect(error!.message).toMatch(message);
    expect(error!.extra_info['input_name']).toBe('images');
    expect(error!.extra_info['input_config']).toEqual(['IMAGE,MASK', {}]);
  });

  it("a link to a missing node is ComfyUI's exception_during_inner_validation (its KeyError)", async () => {
    const result = expectFail(await validate(tiny(['ghost', 0])));
    const [error] = errorsOf(result, 'out');
    expect(error).toEqual({
      type: 'exception_during_inner_validation',
      message: 'Exception when validating inner node',
      details: "'ghost'",
      extra_info: {
        input_name: 'images',
        input_config: ['IMAGE,MASK', {}],
        exception_message: "'ghost'",
        exception_type: 'KeyError',
        traceback: [],
        linked_node: ['ghost', 0],
      },
    });
  });

  it('return_type_mismatch names both types', async () => {
    const prompt = sampleWorkflow(10);
    inputs(prompt, '6')['vae'] = ['1', 1];
    const [error] = errorsOf(expectFail(await validate(prompt)), '6');
    expect(error).toEqual({
      type: 'return_type_mismatch',
      message: 'Return type mismatch between linked nodes',
      details: 'vae, received_type(CLIP) mismatch input_type(VAE)',
      extra_info: { input_name: 'vae', input_config: ['VAE', {}], received_type: 'CLIP', linked_node: ['1', 1] },
    });
  });

  it('matches unions and wildcards on both sides', async () => {
    const prompt: ApiPrompt = {
      src: { class_type: 'Images', inputs: {} },
      mask: { class_type: 'Preview', inputs: { images: ['src', 1] } },
      any: { class_type: 'AnyPass', inputs: { value: ['src', 1] } },
      fromAny: { class_type: 'Preview', inputs: { images: ['any', 0] } },
      constAny: { class_type: 'AnyPass', inputs: { value: { whatever: [1, 2] } } },
      intoScale: { class_type: 'Scale', inputs: { image: ['constAny', 0], method: 'nearest', factor: 1 } },
      last: { class_type: 'Preview', inputs: { images: ['intoScale', 0] } },
    };
    const result = expectOk(await validate(prompt));
    expect(result.outputs).toEqual(['mask', 'fromAny', 'last']);
  });

  it('is case-sensitive about types', async () => {
    const prompt: ApiPrompt = { low: { class_type: 'LowerImage', inputs: {} }, out: { class_type: 'Preview', inputs: { images: ['low', 0] } } };
    const [error] = errorsOf(expectFail(await validate(prompt)), 'out');
    expect(error!.type).toBe('return_type_mismatch');
    expect(error!.details).toBe('images, received_type(image) mismatch input_type(IMAGE,MASK)');
  });

  it('invalid_input_type for values that do not convert', async () => {
    const prompt = sampleWorkflow(10);
    inputs(prompt, '5')['steps'] = '2.5';
    const [error] = errorsOf(expectFail(await validate(prompt)), '5');
    expect(error).toEqual({
      type: 'invalid_input_type',
      message: 'Failed to convert an input value to a INT value',
      details: "steps, 2.5, invalid literal for int() with base 10: '2.5'",
      extra_info: {
        input_name: 'steps',
        input_config: ['INT', { default: 20, min: 1, max: 10000 }],
        received_value: '2.5',
        exception_message: "invalid literal for int() with base 10: '2.5'",
      },
    });
  });

  it('invalid_input_type for a constant on a socket-only input; unions and * take constants', async () => {
    expect(expectOk(await validate(tiny({ not: 'a link' }))).outputs).toEqual(['out']);
    const prompt = sampleWorkflow(10);
    inputs(prompt, '6')['samples'] = 'latent.bin';
    const [e2] = errorsOf(expectFail(await validate(prompt)), '6');
    expect(e2!.type).toBe('invalid_input_type');
    expect(e2!.details).toBe('samples, latent.bin, LATENT inputs take a link, not a constant');
  });

  it('value_smaller_than_min and value_bigger_than_max, with Python number formatting', async () => {
    const prompt = sampleWorkflow(10);
    inputs(prompt, '4')['width'] = 8;
    inputs(prompt, '5')['cfg'] = 200;
    inputs(prompt, '5')['denoise'] = '1.5';
    const result = expectFail(await validate(prompt));
    expect(errorsOf(result, '4')).toEqual([
      {
        type: 'value_smaller_than_min',
        message: 'Value 8 smaller than min of 16',
        details: 'width',
        extra_info: { input_name: 'width', input_config: ['INT', { default: 1024, min: 16, max: 8192, step: 16 }], received_value: 8 },
      },
    ]);
    expect(errorsOf(result, '5').map((e) => e.message)).toEqual(['Value 200.0 bigger than max of 100', 'Value 1.5 bigger than max of 1']);
  });

  it('value_not_in_list for a static combo', async () => {
    const prompt = sampleWorkflow(10);
    inputs(prompt, '5')['sampler_name'] = 'Euler';
    const [error] = errorsOf(expectFail(await validate(prompt)), '5');
    expect(error).toEqual({
      type: 'value_not_in_list',
      message: 'Value not in list',
      details: "sampler_name: 'Euler' not in ['euler', 'dpmpp_2m', 'uni_pc']",
      extra_info: { input_name: 'sampler_name', input_config: [['euler', 'dpmpp_2m', 'uni_pc'], {}], received_value: 'Euler' },
    });
  });

  it('computes provider combos from the environment', async () => {
    const prompt = sampleWorkflow(10);
    inputs(prompt, '1')['ckpt_name'] = 'sdxl.safetensors';
    const withoutFile = expectFail(await validate(prompt));
    expect(errorsOf(withoutFile, '1')[0]!.details).toBe(
      "ckpt_name: 'sdxl.safetensors' not in ['flux1-dev.safetensors', 'uso.safetensors']",
    );
    const env = { ...sampleEnv, services: { checkpoints: ['sdxl.safetensors'] } };
    expectOk(await validatePrompt(prompt, registry, env));
  });

  it('leaves long option lists out of value_not_in_list', async () => {
    const result = expectFail(await validate({ c: { class_type: 'LongCombo', inputs: { choice: 'nope' } } }));
    const [error] = errorsOf(result, 'c');
    expect(error!.details).toBe("choice: 'nope' not in (list of length 25)");
    expect(error!.extra_info['input_config']).toBeNull();
  });

  it('custom_validation_failed with the message the hook returned', async () => {
    const prompt = sampleWorkflow(10);
    inputs(prompt, '8')['filename_prefix'] = '../escape';
    const result = expectOk(await validate(prompt));
    expect(result.outputs).toEqual(['10']);
    expect(errorsOf(result, '8')).toEqual([
      { type: 'custom_validation_failed', message: 'Custom validation failed for node', details: 'filename_prefix must not contain ..', extra_info: {} },
    ]);
  });

  it('awaits async hooks and passes them converted constants only', async () => {
    seenByHook.length = 0;
    const prompt: ApiPrompt = {
      src: { class_type: 'Images', inputs: {} },
      ok: { class_type: 'AsyncCheck', inputs: { image: ['src', 0], level: '3' } },
      bad: { class_type: 'AsyncCheck', inputs: { image: ['src', 0], level: 7 } },
    };
    const result = expectOk(await validate(prompt));
    expect(result.outputs).toEqual(['ok']);
    expect(errorsOf(result, 'bad')[0]!.details).toBe('level 7 is reserved');
    expect(seenByHook).toEqual([{ level: 3 }, { level: 7 }]);
  });

  it('does not call a hook when the static checks already failed', async () => {
    seenByHook.length = 0;
    const prompt: ApiPrompt = { src: { class_type: 'Images', inputs: {} }, x: { class_type: 'AsyncCheck', inputs: { image: ['src', 0], level: 99 } } };
    const result = expectFail(await validate(prompt));
    expect(errorsOf(result, 'x').map((e) => e.type)).toEqual(['value_bigger_than_max']);
    expect(seenByHook).toEqual([]);
  });

  it.each([
    ['a hook that throws', 'Thrower', 'TypeError', 'hook exploded'],
    ['a hook that rejects', 'Rejecter', 'RangeError', 'async hook exploded'],
  ])('exception_during_validation for %s', async (_, classType, type, message) => {
    const prompt: ApiPrompt = { src: { class_type: 'Images', inputs: {} }, x: { class_type: classType, inputs: { image: ['src', 0] } } };
    const [error] = errorsOf(expectFail(await validate(prompt)), 'x');
    expect(error!.type).toBe('exception_during_validation');
    expect(error!.message).toBe('Exception when validating node');
    expect(error!.details).toBe(message);
    expect(error!.extra_info['exception_type']).toBe(type);
    expect(Array.isArray(error!.extra_info['traceback'])).toBe(true);
  });

  it('exception_during_validation for a combo provider that throws', async () => {
    const [error] = errorsOf(expectFail(await validate({ x: { class_type: 'BadProvider', inputs: { choice: 'a' } } })), 'x');
    expect(error!.type).toBe('exception_during_validation');
    expect(error!.details).toBe('cannot list folder');
    expect(error!.extra_info['input_name']).toBe('choice');
  });

  it('validates lazy inputs like any other', async () => {
    const prompt = sampleWorkflow(10);
    inputs(prompt, '9')['b'] = ['4', 0];
    const result = expectOk(await validate(prompt));
    expect(result.outputs).toEqual(['8']);
    expect(errorsOf(result, '9').map((e) => [e.type, e.extra_info['input_name']])).toEqual([['return_type_mismatch', 'b']]);
  });
});

describe('validatePrompt: cycles', () => {
  it('dependency_cycle on every node of the cycle', async () => {
    const prompt: ApiPrompt = {
      a: { class_type: 'Scale', inputs: { image: ['b', 0], method: 'nearest', factor: 1 } },
      b: { class_type: 'Blend', inputs: { a: ['a', 0], b: ['a', 0], factor: 0.5 } },
      out: { class_type: 'Preview', inputs: { images: ['b', 0] } },
    };
    const result = expectFail(await validate(prompt));
    expect(Object.keys(result.nodeErrors)).toEqual(['b', 'a']);
    const [error] = errorsOf(result, 'a');
    expect(error).toEqual({
      type: 'dependency_cycle',
      message: 'Dependency cycle detected',
      details: 'b (Blend) -> a (Scale) -> b (Blend)',
      extra_info: { node_id: 'a', cycle_nodes: ['b', 'a'], cycle_length: 2 },
    });
    expect(result.nodeErrors['b']!.dependent_outputs).toEqual(['out']);
  });

  it('a node linked to itself', async () => {
    const prompt: ApiPrompt = {
      s: { class_type: 'Scale', inputs: { image: ['s', 0], method: 'nearest', factor: 1 } },
      out: { class_type: 'Preview', inputs: { images: ['s', 0] } },
    };
    const [error] = errorsOf(expectFail(await validate(prompt)), 's');
    expect(error!.details).toBe('s (Scale) -> s (Scale)');
  });

  it('a cycle fails only the outputs that reach it', async () => {
    const prompt: ApiPrompt = {
      ...tiny(),
      a: { class_type: 'AnyPass', inputs: { value: ['b', 0] } },
      b: { class_type: 'AnyPass', inputs: { value: ['a', 0] } },
      out2: { class_type: 'Preview', inputs: { images: ['a', 0] } },
    };
    const result = expectOk(await validate(prompt));
    expect(result.outputs).toEqual(['out']);
    expect(Object.keys(result.nodeErrors).sort()).toEqual(['a', 'b']);
  });

  it('walks a 20,000-node chain without overflowing the stack', async () => {
    const prompt: ApiPrompt = { '0': { class_type: 'Images', inputs: {} } };
    for (let i = 1; i < 20_000; i++) prompt[String(i)] = { class_type: 'AnyPass', inputs: { value: [String(i - 1), 0] } };
    prompt['out'] = { class_type: 'Preview', inputs: { images: ['19999', 0] } };
    expect(expectOk(await validate(prompt)).outputs).toEqual(['out']);
    prompt['0'] = { class_type: 'AnyPass', inputs: { value: ['19999', 0] } };
    const result = expectFail(await validate(prompt));
    expect(result.nodeErrors['0']!.errors[0]!.type).toBe('dependency_cycle');
    const cycle = result.nodeErrors['0']!.errors[0]!;
    expect(cycle.extra_info['cycle_length']).toBe(20_000);
    // Listed in part only: 20,000 errors each naming 20,000 nodes would make a gigabyte-sized response.
    expect((cycle.extra_info['cycle_nodes'] as string[]).length).toBe(50);
    expect(cycle.details.endsWith(' -> ...')).toBe(true);
    expect(JSON.stringify(result.nodeErrors).length).toBeLessThan(20_000 * 2_000);
  });
});

describe('validatePrompt: partial outputs and targets', () => {
  const twoOutputs = (): ApiPrompt => ({
    src: { class_type: 'Images', inputs: {} },
    good: { class_type: 'Preview', inputs: { images: ['src', 0] } },
    broken: { class_type: 'Save', inputs: { images: ['src', 0], filename_prefix: null } },
  });

  it('runs the valid outputs and reports the failed ones', async () => {
    const result = expectOk(await validate(twoOutputs()));
    expect(result.outputs).toEqual(['good']);
    expect(result.nodeErrors['broken']!.dependent_outputs).toEqual(['broken']);
    expect(result.nodeErrors['broken']!.errors[0]!.type).toBe('invalid_input_type');
  });

  it('lists every failed output that depends on a broken node', async () => {
    const prompt = sampleWorkflow(20);
    inputs(prompt, '3')['text'] = null;
    const result = expectFail(await validate(prompt));
    expect(result.nodeErrors['3']!.dependent_outputs).toEqual(['8', '16', '20']);
  });

  it('validates only the targeted outputs', async () => {
    const onlyGood = expectOk(await validate(twoOutputs(), ['good']));
    expect(onlyGood.outputs).toEqual(['good']);
    expect(onlyGood.nodeErrors).toEqual({});
    const onlyBroken = expectFail(await validate(twoOutputs(), ['broken']));
    expect(onlyBroken.error.type).toBe('prompt_outputs_failed_validation');
  });

  it('ignores targets that are not output nodes, as ComfyUI does', async () => {
    expect(expectFail(await validate(twoOutputs(), ['src', 'nope'])).error.type).toBe('prompt_no_outputs');
    expect(expectFail(await validate(twoOutputs(), [])).error.type).toBe('prompt_no_outputs');
  });
});

describe('validatePrompt: hostile input', () => {
  it('handles __proto__ as a node id and as an input name without polluting anything', async () => {
    const text = '{"__proto__": {"class_type": "Images", "inputs": {"__proto__": 1}}, "out": {"class_type": "Preview", "inputs": {"images": ["__proto__", 0]}}}';
    const result = expectOk(await validate(JSON.parse(text)));
    expect(result.outputs).toEqual(['out']);
    expect(Object.hasOwn(result.prompt, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(result.prompt)).toBe(Object.prototype);
    expect(JSON.parse(JSON.stringify(result.prompt))).toEqual(JSON.parse(text));
  });

  it('keeps unknown inputs but writes -0 as 0, so the canonical prompt survives a JSON round trip', async () => {
    const prompt = tiny();
    (prompt['out']!.inputs as Record<string, unknown>)['extra'] = { a: -0, b: [1, -0] };
    (prompt['out']!.inputs as Record<string, unknown>)['zero'] = -0;
    const result = expectOk(await validate(prompt));
    expect(Object.is(result.prompt['out']!.inputs['zero'], 0)).toBe(true);
    expect(JSON.parse(JSON.stringify(result.prompt))).toEqual(result.prompt);
  });

  it('does not resolve links or classes through Object.prototype', async () => {
    const result = expectFail(await validate(tiny(['constructor', 0])));
    expect(errorsOf(result, 'out')[0]!.details).toBe("'constructor'");
    const proto = expectFail(await validate({ x: { class_type: 'toString', inputs: {} } }));
    expect(proto.error.type).toBe('invalid_prompt');
  });

  it('returns a result when reading the prompt throws', async () => {
    const prompt = new Proxy({}, { ownKeys: () => { throw new Error('trap'); } });
    const result = expectFail(await validate(prompt));
    expect(result.error.type).toBe('invalid_prompt');
    expect(result.error.message).toMatch(/trap/);
    const getter = { get x() { throw new Error('getter'); } };
    expect(expectFail(await validate(getter)).error.message).toMatch(/getter/);
  });

  it('keeps error payloads serialisable whatever the received value', async () => {
    const cyclic: Record<string, unknown> = { big: 10n };
    cyclic['self'] = cyclic;
    const prompt = sampleWorkflow(10);
    inputs(prompt, '5')['steps'] = cyclic;
    const result = expectFail(await validate(prompt));
    const json = JSON.parse(JSON.stringify(result.nodeErrors)) as typeof result.nodeErrors;
    expect(json['5']!.errors[0]!.extra_info['received_value']).toEqual({ big: '10', self: '[Circular]' });
  });
});
