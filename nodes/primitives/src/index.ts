/**
 * ComfyUI's primitive nodes (comfy_extras/nodes_primitive.py): one widget each, passed straight through. Names,
 * display names, inputs and limits match ComfyUI so saved workflows and /object_info agree.
 */
import { defineNode, type InputDef, type NodeDefinition, type NodePack } from '@uso-studio/core';

/** ComfyUI's limit, Python's sys.maxsize (2^63 - 1; as a double it rounds to 2^63, as ComfyUI's JSON does in a browser). */
const INT_LIMIT = 9223372036854775807;
const CATEGORY = 'utils/primitive';
/** Rendered as python_module; the front end treats comfy_extras modules as core nodes. */
const MODULE = 'comfy_extras.nodes_primitive';

function passThrough(name: string, displayName: string, type: string, required: Record<string, InputDef>): NodeDefinition {
  return defineNode({
    name,
    displayName,
    category: CATEGORY,
    pack: MODULE,
    // comfy_api io.Schema nodes in ComfyUI 0.3.64: /object_info always carries their experimental/deprecated/api_node keys.
    comfyApi: 'v3',
    inputs: { required },
    outputs: [{ type }],
    execute: (inputs) => ({ outputs: [inputs['value']] }),
  });
}

export const primitiveString = passThrough('PrimitiveString', 'String', 'STRING', { value: { type: 'STRING', multiline: false } });

export const primitiveStringMultiline = passThrough('PrimitiveStringMultiline', 'String (Multiline)', 'STRING', {
  value: { type: 'STRING', multiline: true },
});

export const primitiveInt = passThrough('PrimitiveInt', 'Int', 'INT', {
  value: { type: 'INT', min: -INT_LIMIT, max: INT_LIMIT, control_after_generate: true },
});

export const primitiveFloat = passThrough('PrimitiveFloat', 'Float', 'FLOAT', {
  value: { type: 'FLOAT', min: -INT_LIMIT, max: INT_LIMIT },
});

export const primitiveBoolean = passThrough('PrimitiveBoolean', 'Boolean', 'BOOLEAN', { value: { type: 'BOOLEAN' } });

/** The pack the server loads by default. */
export const pack: NodePack = {
  name: 'primitives',
  nodes: [primitiveString, primitiveStringMultiline, primitiveInt, primitiveFloat, primitiveBoolean],
};
