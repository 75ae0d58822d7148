import { describe, expect, it } from 'vitest';
import { Executor, NodeRegistry, type HostEnvironment } from '@uso-studio/core';
import { pack } from './index.ts';

const env: HostEnvironment = { inputDir: 'i', outputDir: 'o', tempDir: 't', modelsDir: 'm' };
const registry = new NodeRegistry(pack.nodes);

describe('primitives pack', () => {
  it("has ComfyUI's five primitive nodes with their names, display names and category", () => {
    const info = registry.objectInfo(env);
    expect(Object.keys(info)).toEqual(['PrimitiveString', 'PrimitiveStringMultiline', 'PrimitiveInt', 'PrimitiveFloat', 'PrimitiveBoolean']);
    expect(Object.values(info).map((e) => e.display_name)).toEqual(['String', 'String (Multiline)', 'Int', 'Float', 'Boolean']);
    for (const entry of Object.values(info)) {
      expect(entry.category).toBe('utils/primitive');
      expect(entry.input_order.required).toEqual(['value']);
      expect(entry.python_module).toBe('comfy_extras.nodes_primitive');
    }
  });

  it("matches ComfyUI's input options", () => {
    const info = registry.objectInfo(env);
    expect(info['PrimitiveInt']?.input.required['value']).toEqual([
      'INT',
      { min: -9223372036854775807, max: 9223372036854775807, control_after_generate: true },
    ]);
    expect(info['PrimitiveFloat']?.input.required['value']).toEqual(['FLOAT', { min: -9223372036854775807, max: 9223372036854775807 }]);
    expect(info['PrimitiveStringMultiline']?.input.required['value']).toEqual(['STRING', { multiline: true }]);
    expect(info['PrimitiveString']?.input.required['value']).toEqual(['STRING', { multiline: false }]);
    expect(info['PrimitiveBoolean']?.output).toEqual(['BOOLEAN']);
  });

  it('passes each value through when executed', async () => {
    const executor = new Executor({ registry, env });
    const outcome = await executor.run(
      {
        s: { class_type: 'PrimitiveString', inputs: { value: 'hi' } },
        m: { class_type: 'PrimitiveStringMultiline', inputs: { value: 'a\nb' } },
        i: { class_type: 'PrimitiveInt', inputs: { value: 42 } },
        f: { class_type: 'PrimitiveFloat', inputs: { value: 0.5 } },
        b: { class_type: 'PrimitiveBoolean', inputs: { value: true } },
      },
      { promptId: 'p', outputs: ['s', 'm', 'i', 'f', 'b'] },
    );
    expect(outcome.status).toBe('success');
    expect(outcome.executed.sort()).toEqual(['b', 'f', 'i', 'm', 's']);
    const direct = await Promise.all(pack.nodes.map((n) => n.execute({ value: 7 }, undefined as never)));
    expect(direct.map((r) => r.outputs)).toEqual(pack.nodes.map(() => [7]));
  });
});
