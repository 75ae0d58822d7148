/**
 * Formatting helpers for validation messages. ComfyUI builds its messages with Python's `str()` and `repr()`, and
 * clients show them verbatim, so values are printed the Python way ('abc', True, None, [1, 2]). Everything here is
 * bounded (depth, entries, string length) and total: no value makes these throw or run away.
 */

const MAX_DEPTH = 4;
const MAX_ENTRIES = 20;
const MAX_STRING = 1000;

/** Python's `repr()` of a JSON-like value, bounded in size. */
export function pyRepr(value: unknown): string {
  return repr(value, 0, new Set());
}

/** Python's `str()`: strings print bare, everything else as `repr()`. */
export function pyStr(value: unknown): string {
  return typeof value === 'string' ? clip(value) : pyRepr(value);
}

/** Python's `str()` of a number: floats keep a `.0` (`5.0`), integers print plain. */
export function pyNumber(value: number, isFloat: boolean): string {
  if (Number.isNaN(value)) return 'nan';
  if (value === Infinity) return 'inf';
  if (value === -Infinity) return '-inf';
  const text = String(value);
  return isFloat && Number.isInteger(value) && !text.includes('e') ? `${text}.0` : text;
}

function repr(value: unknown, depth: number, seen: Set<object>): string {
  switch (typeof value) {
    case 'string':
      return quote(clip(value));
    case 'number':
      return pyNumber(value, false);
    case 'bigint':
      return String(value);
    case 'boolean':
      return value ? 'True' : 'False';
    case 'undefined':
      return 'None';
    case 'function':
      return '<function>';
    case 'symbol':
      return '<symbol>';
  }
  if (value === null) return 'None';
  const obj = value as object;
  if (seen.has(obj)) return Array.isArray(obj) ? '[...]' : '{...}';
  if (depth >= MAX_DEPTH) return Array.isArray(obj) ? '[...]' : '{...}';
  seen.add(obj);
  try {
    if (Array.isArray(obj)) {
      const parts: string[] = [];
      const n = Math.min(obj.length, MAX_ENTRIES);
      for (let i = 0; i < n; i++) parts.push(repr(obj[i], depth + 1, seen));
      if (obj.length > n) parts.push('...');
      return `[${parts.join(', ')}]`;
    }
    const keys = Object.keys(obj);
    const parts: string[] = [];
    const n = Math.min(keys.length, MAX_ENTRIES);
    for (let i = 0; i < n; i++) {
      const key = keys[i]!;
      parts.push(`${quote(clip(key))}: ${repr((obj as Record<string, unknown>)[key], depth + 1, seen)}`);
    }
    if (keys.length > n) parts.push('...');
    return `{${parts.join(', ')}}`;
  } finally {
    seen.delete(obj);
  }
}

/** Python picks double quotes only when the text holds a single quote and no double quote. */
function quote(text: string): string {
  const q = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = '';
  for (const ch of text) {
    if (ch === '\\') out += '\\\\';
    else if (ch === q) out += `\\${q}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch < ' ' || ch === '\x7f') out += `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return q + out + q;
}

function clip(text: string): string {
  return text.length > MAX_STRING ? `${text.slice(0, MAX_STRING)}...` : text;
}

/** Python's type name for a value, as its TypeError messages print it. */
export function pyTypeName(value: unknown): string {
  if (value === null || value === undefined) return 'NoneType';
  if (Array.isArray(value)) return 'list';
  switch (typeof value) {
    case 'string':
      return 'str';
    case 'number':
      return Number.isInteger(value) ? 'int' : 'float';
    case 'bigint':
      return 'int';
    case 'boolean':
      return 'bool';
    case 'function':
      return 'function';
    case 'symbol':
      return 'symbol';
    default:
      return 'dict';
  }
}

/**
 * A copy of `value` that `JSON.stringify` always accepts: bigints become strings, functions, symbols and undefined
 * become null, cycles and too-deep parts become a marker string, and long arrays and objects are cut short. Error
 * payloads carry the received value back to the client, and a payload must never fail to serialise.
 */
export function jsonSafe(value: unknown): unknown {
  return safe(value, 0, new Set());
}

const SAFE_DEPTH = 8;
const SAFE_ENTRIES = 1000;

function safe(value: unknown, depth: number, seen: Set<object>): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : null;
    case 'bigint':
      return String(value);
    case 'undefined':
    case 'function':
    case 'symbol':
      return null;
  }
  if (value === null) return null;
  const obj = value as object;
  if (seen.has(obj)) return '[Circular]';
  if (depth >= SAFE_DEPTH) return '[Too deep]';
  seen.add(obj);
  try {
    if (Array.isArray(obj)) {
      const n = Math.min(obj.length, SAFE_ENTRIES);
      const out: unknown[] = [];
      for (let i = 0; i < n; i++) out.push(safe(obj[i], depth + 1, seen));
      return out;
    }
    const out: Record<string, unknown> = {};
    const keys = Object.keys(obj).slice(0, SAFE_ENTRIES);
    for (const key of keys) setOwn(out, key, safe((obj as Record<string, unknown>)[key], depth + 1, seen));
    return out;
  } finally {
    seen.delete(obj);
  }
}

/**
 * Sets an own, enumerable property, even for keys such as `__proto__` that a plain assignment would treat as the
 * prototype.
 */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
  else target[key] = value;
}
