import { describe, expect, it } from 'vitest';
import { coerceConstant } from './coerce.ts';

const value = (type: string, v: unknown) => {
  const r = coerceConstant(type, v);
  if (!r.ok) throw new Error(`expected success, got ${r.reason}`);
  return r.value;
};
const reason = (type: string, v: unknown) => {
  const r = coerceConstant(type, v);
  if (r.ok) throw new Error(`expected failure, got ${String(r.value)}`);
  return r.reason;
};

describe('coerceConstant INT (Python int())', () => {
  it('parses the strings int() accepts', () => {
    expect(value('INT', '5')).toBe(5);
    expect(value('INT', ' 1_000 ')).toBe(1000);
    expect(value('INT', '+7')).toBe(7);
    expect(value('INT', '007')).toBe(7);
    expect(Object.is(value('INT', '-0'), 0)).toBe(true);
  });
  it('rejects the strings int() rejects, with its message', () => {
    for (const s of ['5.0', '1__0', '_1', '0x10', '', 'abc', '1e3']) {
      expect(reason('INT', s)).toBe(`invalid literal for int() with base 10: '${s}'`);
    }
  });
  it('truncates floats toward zero and maps booleans to 0/1', () => {
    expect(value('INT', 7.9)).toBe(7);
    expect(value('INT', -7.9)).toBe(-7);
    expect(Object.is(value('INT', -0.5), 0)).toBe(true);
    expect(value('INT', true)).toBe(1);
    expect(value('INT', false)).toBe(0);
  });
  it('keeps integers beyond 2^53 as (lossy) numbers and refuses infinite ones', () => {
    expect(value('INT', 18446744073709551615)).toBe(18446744073709551615);
    expect(value('INT', '18446744073709551615')).toBe(18446744073709551615);
    expect(value('INT', 10n)).toBe(10);
    expect(reason('INT', '9'.repeat(400))).toMatch(/too large/);
    expect(reason('INT', Infinity)).toBe('cannot convert float infinity to integer');
    expect(reason('INT', NaN)).toBe('cannot convert float NaN to integer');
  });
  it('names the Python type of non-convertible values', () => {
    expect(reason('INT', null)).toBe("int() argument must be a string, a bytes-like object or a real number, not 'NoneType'");
    expect(reason('INT', {})).toMatch(/not 'dict'$/);
    expect(reason('INT', undefined)).toMatch(/not 'NoneType'$/);
  });
});

describe('coerceConstant FLOAT (Python float())', () => {
  it('parses decimal forms float() accepts', () => {
    expect(value('FLOAT', '1.5')).toBe(1.5);
    expect(value('FLOAT', '.5')).toBe(0.5);
    expect(value('FLOAT', '5.')).toBe(5);
    expect(value('FLOAT', '1e3')).toBe(1000);
    expect(value('FLOAT', '1_0.5')).toBe(10.5);
    expect(value('FLOAT', ' 2.5 ')).toBe(2.5);
    expect(value('FLOAT', 3)).toBe(3);
    expect(value('FLOAT', true)).toBe(1);
  });
  it('rejects what float() rejects', () => {
    for (const s of ['1e', '.', '1_e3', 'e5', '', 'abc']) expect(reason('FLOAT', s)).toBe(`could not convert string to float: '${s}'`);
    expect(reason('FLOAT', null)).toBe("float() argument must be a string or a real number, not 'NoneType'");
  });
  it('refuses inf and nan, which JSON cannot carry back (stricter than ComfyUI)', () => {
    expect(reason('FLOAT', 'inf')).toMatch(/not a finite number/);
    expect(reason('FLOAT', '-Infinity')).toMatch(/not a finite number/);
    expect(reason('FLOAT', 'nan')).toMatch(/not a finite number/);
    expect(reason('FLOAT', '1e400')).toMatch(/not a finite number/);
    expect(reason('FLOAT', NaN)).toMatch(/not a finite number/);
  });
});

describe('coerceConstant STRING and BOOLEAN', () => {
  it('stringifies numbers and booleans like Python str()', () => {
    expect(value('STRING', 'x')).toBe('x');
    expect(value('STRING', 5)).toBe('5');
    expect(value('STRING', 1.5)).toBe('1.5');
    expect(value('STRING', true)).toBe('True');
  });
  it('refuses null and objects for STRING (ComfyUI would send "None")', () => {
    expect(reason('STRING', null)).toMatch(/not 'NoneType'/);
    expect(reason('STRING', { a: 1 })).toMatch(/not 'dict'/);
  });
  it('reads booleans strictly: "false" stays false', () => {
    expect(value('BOOLEAN', true)).toBe(true);
    expect(value('BOOLEAN', 'false')).toBe(false);
    expect(value('BOOLEAN', ' TRUE ')).toBe(true);
    expect(value('BOOLEAN', 0)).toBe(false);
    expect(value('BOOLEAN', 2)).toBe(true);
    expect(value('BOOLEAN', '1')).toBe(true);
    expect(reason('BOOLEAN', 'yes please')).toMatch(/invalid literal for a boolean/);
    expect(reason('BOOLEAN', null)).toMatch(/not 'NoneType'/);
  });
  it('passes other types through untouched', () => {
    const obj = { a: 1 };
    expect(value('IMAGE', obj)).toBe(obj);
    expect(value('COMBO', 'x')).toBe('x');
  });
});
