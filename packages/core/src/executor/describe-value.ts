/**
 * Short, serialisable descriptions of values for `execution_error`'s current_inputs / current_outputs. Tensors and
 * models must not be copied into an event, so anything that is not a small scalar becomes a one-line description.
 */

const MAX_STRING = 1000;

/** Scalars pass through (long strings cut); anything else becomes a description such as `Float32Array(12)`. */
export function describeValue(value: unknown): string | number | boolean | null {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case 'number':
    case 'boolean':
      return value;
    case 'string':
      return value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}… (${value.length} chars)` : value;
    case 'bigint':
      return String(value);
    case 'function':
      return '[function]';
    case 'symbol':
      return String(value);
    default:
      return describeObject(value as object);
  }
}

function describeObject(value: object): string {
  const shape = (value as { shape?: unknown }).shape;
  const dtype = (value as { dtype?: unknown }).dtype;
  const name = value.constructor?.name ?? 'Object';
  if (Array.isArray(shape) && shape.every((d) => typeof d === 'number')) {
    return `${name}(shape=[${shape.join(', ')}]${typeof dtype === 'string' ? `, dtype=${dtype}` : ''})`;
  }
  if (ArrayBuffer.isView(value)) return `${name}(${value.byteLength} bytes)`;
  if (Array.isArray(value)) return `Array(${value.length})`;
  try {
    const json = JSON.stringify(value);
    if (json !== undefined && json.length <= 200) return json;
  } catch {
    // cyclic or otherwise unserialisable: fall through to the class name
  }
  const keys = Object.keys(value);
  return `${name}{${keys.slice(0, 8).join(', ')}${keys.length > 8 ? ', …' : ''}}`;
}

/** current_inputs: each input's list of values, described. */
export function describeInputs(inputs: Record<string, readonly unknown[]>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, list] of Object.entries(inputs)) out[name] = list.map(describeValue);
  return out;
}
