/**
 * A JSON-safe copy of any value, for payloads that structured clone refuses (functions, class instances holding
 * native handles). Typed arrays become a short descriptor instead of megabytes of numbers.
 */
export function toCloneable<T>(value: T): T {
  const seen = new WeakSet<object>();
  const json = JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'bigint') return v.toString();
    if (typeof v === 'function' || typeof v === 'symbol') return undefined;
    if (ArrayBuffer.isView(v)) return { type: v.constructor.name, length: v.byteLength };
    if (v && typeof v === 'object') {
      if (seen.has(v)) return '[Circular]';
      seen.add(v);
    }
    return v;
  });
  return (json === undefined ? null : JSON.parse(json)) as T;
}
