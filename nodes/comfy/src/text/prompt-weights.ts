/**
 * ComfyUI's prompt weighting syntax (comfy/sd1_clip.py token_weights): "(text)" multiplies the weight by 1.1 per
 * nesting level, "(text:1.3)" sets it, "\(" and "\)" are literal parentheses.
 */

const ESC_CLOSE = '\u0000\u0001';
const ESC_OPEN = '\u0000\u0002';

/** Top-level parenthesised groups and the text between them. */
function parseParentheses(text: string): string[] {
  const result: string[] = [];
  let current = '';
  let level = 0;
  for (const ch of text) {
    if (ch === '(') {
      if (level === 0) {
        if (current) result.push(current);
        current = '(';
      } else {
        current += ch;
      }
      level += 1;
    } else if (ch === ')') {
      level -= 1;
      if (level === 0) {
        result.push(current + ')');
        current = '';
      } else {
        current += ch;
      }
    } else {
      current += ch;
    }
  }
  if (current) result.push(current);
  return result;
}

/** Python's float() on a weight: optional spaces, a decimal or exponent number. */
function pythonFloat(text: string): number | null {
  return /^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$/.test(text) ? Number(text) : null;
}

function tokenWeights(text: string, weight: number): Array<[string, number]> {
  const out: Array<[string, number]> = [];
  for (let part of parseParentheses(text)) {
    if (part.length >= 2 && part.startsWith('(') && part.endsWith(')')) {
      part = part.slice(1, -1);
      let w = weight * 1.1;
      const colon = part.lastIndexOf(':');
      if (colon > 0) {
        const parsed = pythonFloat(part.slice(colon + 1));
        if (parsed !== null) {
          w = parsed;
          part = part.slice(0, colon);
        }
      }
      out.push(...tokenWeights(part, w));
    } else {
      out.push([part, weight]);
    }
  }
  return out;
}

/**
 * Splits a prompt into (text, weight) segments, escapes resolved, empty segments dropped.
 *
 * @example parsePromptWeights('a (red:1.5) cat') // [['a ', 1], ['red', 1.5], [' cat', 1]]
 */
export function parsePromptWeights(prompt: string): Array<[string, number]> {
  const escaped = prompt.replaceAll('\\)', ESC_CLOSE).replaceAll('\\(', ESC_OPEN);
  return tokenWeights(escaped, 1)
    .map(([t, w]): [string, number] => [t.replaceAll(ESC_CLOSE, ')').replaceAll(ESC_OPEN, '('), w])
    .filter(([t]) => t !== '');
}
