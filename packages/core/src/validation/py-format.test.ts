import { describe, expect, it } from 'vitest';
import { jsonSafe, pyNumber, pyRepr, pyStr, pyTypeName, setOwn } from './py-format.ts';

describe('pyRepr / pyStr', () => {
  it('prints values as Python repr() does', () => {
    expect(pyRepr(['a', 1, true, null, 1.5])).toBe("['a', 1, True, None, 1.5]");
    expect(pyRepr("it's")).toBe('"it\'s"');
    expect(pyRepr('a"b')).toBe("'a\"b'");
    expect(pyRepr({ k: 'v' })).toBe("{'k': 'v'}");
    expect(pyRepr('line\nbreak')).toBe("'line\\nbreak'");
    expect(pyStr('bare')).toBe('bare');
    expect(pyStr(null)).toBe('None');
  });
  it('is bounded for cyclic, deep and long values', () => {
    const cyclic: unknown[] = [];
    cyclic.push(cyclic);
    expect(pyRepr(cyclic)).toBe('[[...]]');
    let deep: unknown = 1;
    for (let i = 0; i < 100; i++) deep = [deep];
    expect(pyRepr(deep).length).toBeLessThan(50);
    expect(pyRepr(Array.from({ length: 1000 }, (_, i) => i))).toMatch(/, 19, \.\.\.\]$/);
    expect(pyStr('x'.repeat(5000)).length).toBe(1003);
  });
  it('prints floats with .0 and specials like Python', () => {
    expect(pyNumber(5, true)).toBe('5.0');
    expect(pyNumber(5, false)).toBe('5');
    expect(pyNumber(0.25, true)).toBe('0.25');
    expect(pyNumber(Infinity, true)).toBe('inf');
    expect(pyNumber(NaN, true)).toBe('nan');
  });
  it('names Python types', () => {
    expect(pyTypeName(null)).toBe('NoneType');
    expect(pyTypeName([])).toBe('list');
    expect(pyTypeName(1.5)).toBe('float');
    expect(pyTypeName({})).toBe('dict');
  });
});

describe('jsonSafe', () => {
  it('makes any value serialisable', () => {
    const cyclic: Record<string, unknown> = { n: 1n, f: () => 1, u: undefined, inf: Infinity };
    cyclic['self'] = cyclic;
    const safe = jsonSafe(cyclic);
    expect(JSON.parse(JSON.stringify(safe))).toEqual({ n: '1', f: null, u: null, inf: null, self: '[Circular]' });
  });
  it('keeps __proto__ keys as own data', () => {
    const parsed = JSON.parse('{"__proto__": {"polluted": true}}') as unknown;
    const safe = jsonSafe(parsed) as Record<string, unknown>;
    expect(Object.hasOwn(safe, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(JSON.stringify(safe)).toBe('{"__proto__":{"polluted":true}}');
  });
});

describe('setOwn', () => {
  it('sets __proto__ as an own property without touching the prototype', () => {
    const target: Record<string, unknown> = {};
    setOwn(target, '__proto__', 5);
    expect(Object.getPrototypeOf(target)).toBe(Object.prototype);
    expect(Object.keys(target)).toEqual(['__proto__']);
  });
});
