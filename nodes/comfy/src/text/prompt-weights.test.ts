import { describe, it, expect } from 'vitest';
import { parsePromptWeights } from './prompt-weights.ts';

describe('parsePromptWeights', () => {
  it('sets weights with (text:w), multiplies by 1.1 per bare paren level, keeps escapes literal', () => {
    expect(parsePromptWeights('a (red:1.5) cat')).toEqual([['a ', 1], ['red', 1.5], [' cat', 1]]);
    expect(parsePromptWeights('((dog))')).toEqual([['dog', 1.1 * 1.1]]);
    expect(parsePromptWeights('((dog:0.5))')).toEqual([['dog', 0.5]]);
    expect(parsePromptWeights('(a:b) \\(x\\)')).toEqual([['a:b', 1.1], [' (x)', 1]]);
    expect(parsePromptWeights('(x: 2 )')).toEqual([['x', 2]]);
    expect(parsePromptWeights('')).toEqual([]);
  });
});
