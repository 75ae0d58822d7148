/**
 * Byte sizes of values, so the cache can keep a RAM budget. A value may report its own size through `byteSize`.
 */

export interface SizedValue {
  readonly byteSize: number;
}

function hasByteSize(value: object): value is SizedValue {
  return typeof (value as { byteSize?: unknown }).byteSize === 'number';
}

/** Estimates the bytes a value holds. Shared buffers and repeated references are counted once. */
export function byteSizeOf(value: unknown, seen: Set<object> = new Set()): number {
  if (value === null || value === undefined) return 0;
  switch (typeof value) {
    case 'number':
    case 'bigint':
      return 8;
    case 'boolean':
      return 4;
    case 'string':
      return 2 * value.length;
    case 'object': {
      if (seen.has(value)) return 0;
      seen.add(value);
      if (hasByteSize(value)) return value.byteSize;
      if (ArrayBuffer.isView(value)) {
        if (seen.has(value.buffer)) return 0;
        seen.add(value.buffer);
        return value.byteLength;
      }
      if (value instanceof ArrayBuffer) return value.byteLength;
      let total = 16;
      if (Array.isArray(value)) {
        for (const item of value) total += 8 + byteSizeOf(item, seen);
        return total;
      }
      if (value instanceof Map) {
        for (const [k, v] of value) total += byteSizeOf(k, seen) + byteSizeOf(v, seen);
        return total;
      }
      for (const key of Object.keys(value)) {
        total += 2 * key.length + byteSizeOf((value as Record<string, unknown>)[key], seen);
      }
      return total;
    }
    default:
      return 0;
  }
}
