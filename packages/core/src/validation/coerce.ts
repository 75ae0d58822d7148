/**
 * Converts widget constants to their declared type the way ComfyUI does before it runs a prompt (`int(val)`,
 * `float(val)`, `str(val)`), so "5" becomes 5 for an INT and 7.9 becomes 7. Where Python's conversion is a trap we
 * are stricter, and say so: BOOLEAN does not turn "false" into true, STRING does not turn null into "None", and
 * FLOAT refuses inf and nan, which JSON cannot carry back.
 */
import { pyNumber, pyRepr, pyTypeName } from './py-format.ts';

export type CoerceResult = { ok: true; value: unknown } | { ok: false; reason: string };

/** The widget types whose constants get converted. */
export const COERCED_TYPES: ReadonlySet<string> = new Set(['INT', 'FLOAT', 'STRING', 'BOOLEAN']);

/** Python's int() grammar for strings: sign, digits with single underscores between them, whitespace around. */
const INT_TEXT = /^[+-]?\d+(?:_\d+)*$/;
/** Python's float() grammar for finite decimals. */
const FLOAT_TEXT = /^[+-]?(?:\d+(?:_\d+)*(?:\.(?:\d+(?:_\d+)*)?)?|\.\d+(?:_\d+)*)(?:[eE][+-]?\d+(?:_\d+)*)?$/;
const FLOAT_SPECIAL = /^[+-]?(?:inf|infinity|nan)$/i;

/**
 * Converts `value` for an input of widget type `type` ('INT' | 'FLOAT' | 'STRING' | 'BOOLEAN'); any other type
 * passes the value through. `reason` mimics the Python exception message ComfyUI would report.
 *
 * @example coerceConstant('INT', ' 1_000 ') // { ok: true, value: 1000 }
 */
export function coerceConstant(type: string, value: unknown): CoerceResult {
  switch (type) {
    case 'INT':
      return toInt(value);
    case 'FLOAT':
      return toFloat(value);
    case 'STRING':
      return toStr(value);
    case 'BOOLEAN':
      return toBool(value);
    default:
      return { ok: true, value };
  }
}

function toInt(value: unknown): CoerceResult {
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return fail('cannot convert float NaN to integer');
    if (!Number.isFinite(value)) return fail('cannot convert float infinity to integer');
    return { ok: true, value: Math.trunc(value) + 0 };
  }
  if (typeof value === 'boolean') return { ok: true, value: value ? 1 : 0 };
  if (typeof value === 'bigint') return finiteInt(Number(value));
  if (typeof value === 'string') {
    const text = value.trim();
    if (!INT_TEXT.test(text)) return fail(`invalid literal for int() with base 10: ${pyRepr(value)}`);
    return finiteInt(Number(text.replaceAll('_', '')));
  }
  return fail(`int() argument must be a string, a bytes-like object or a real number, not '${pyTypeName(value)}'`);
}

/** Python ints are unbounded; a JS number is not, and an infinite one cannot go back out as JSON. */
function finiteInt(n: number): CoerceResult {
  if (!Number.isFinite(n)) return fail('integer is too large to represent');
  return { ok: true, value: n + 0 };
}

function toFloat(value: unknown): CoerceResult {
  let n: number;
  if (typeof value === 'number') n = value;
  else if (typeof value === 'boolean') n = value ? 1 : 0;
  else if (typeof value === 'bigint') n = Number(value);
  else if (typeof value === 'string') {
    const text = value.trim();
    if (FLOAT_TEXT.test(text)) n = Number(text.replaceAll('_', ''));
    else if (FLOAT_SPECIAL.test(text)) return fail(`${pyRepr(value)} is not a finite number`);
    else return fail(`could not convert string to float: ${pyRepr(value)}`);
  } else return fail(`float() argument must be a string or a real number, not '${pyTypeName(value)}'`);
  if (!Number.isFinite(n)) return fail(`${pyNumber(n, true)} is not a finite number`);
  // -0 would not survive a JSON round trip.
  return { ok: true, value: n + 0 };
}

function toStr(value: unknown): CoerceResult {
  switch (typeof value) {
    case 'string':
      return { ok: true, value };
    case 'number':
      return { ok: true, value: pyNumber(value, false) };
    case 'bigint':
      return { ok: true, value: String(value) };
    case 'boolean':
      return { ok: true, value: value ? 'True' : 'False' };
    default:
      return fail(`expected a string, not '${pyTypeName(value)}'`);
  }
}

const TRUE_TEXT = new Set(['true', '1']);
const FALSE_TEXT = new Set(['false', '0']);

function toBool(value: unknown): CoerceResult {
  if (typeof value === 'boolean') return { ok: true, value };
  if (typeof value === 'number' && Number.isFinite(value)) return { ok: true, value: value !== 0 };
  if (typeof value === 'string') {
    const text = value.trim().toLowerCase();
    if (TRUE_TEXT.has(text)) return { ok: true, value: true };
    if (FALSE_TEXT.has(text)) return { ok: true, value: false };
    return fail(`invalid literal for a boolean: ${pyRepr(value)}`);
  }
  return fail(`expected a boolean, not '${pyTypeName(value)}'`);
}

function fail(reason: string): CoerceResult {
  return { ok: false, reason };
}
