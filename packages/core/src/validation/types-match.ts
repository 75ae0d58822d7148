/**
 * Socket type compatibility, as ComfyUI's `validate_node_input` decides it (non-strict mode).
 */

/**
 * True when an output of type `received` may feed an input of type `expected`. Both are comma-separated unions
 * ('IMAGE,MASK'); they match when they share a member, and '*' on either side matches anything. Members are
 * trimmed and compared case-sensitively, exactly as ComfyUI does.
 *
 * @example typesMatch('IMAGE', 'IMAGE,MASK') // true
 * @example typesMatch('image', 'IMAGE') // false
 */
export function typesMatch(received: string, expected: string): boolean {
  if (received === expected) return true;
  if (received === '*' || expected === '*') return true;
  if (typeof received !== 'string' || typeof expected !== 'string') return false;
  const receivedSet = new Set(received.split(',').map((t) => t.trim()));
  const expectedSet = expected.split(',').map((t) => t.trim());
  if (receivedSet.has('*')) return true;
  for (const t of expectedSet) if (t === '*' || receivedSet.has(t)) return true;
  return false;
}
