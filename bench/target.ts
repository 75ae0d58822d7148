/**
 * Reads an issue's target text ("<= 5 µs/node", "< 2000 ms", ">= 1000/s", "<= 1.0") as a comparison, so a script can
 * tell whether a figure met it. Texts that are not "<op> <number> ..." (e.g. "about 48 ms") give undefined.
 */
export function targetMet(target: string, value: number): boolean | undefined {
  const match = /^\s*(<=|>=|<|>|≤|≥)\s*(-?[\d.]+(?:e-?\d+)?)/.exec(target.replace(/,/g, ''));
  if (!match) return undefined;
  const bound = Number(match[2]);
  if (!Number.isFinite(bound)) return undefined;
  switch (match[1]) {
    case '<': return value < bound;
    case '>': return value > bound;
    case '<=': case '≤': return value <= bound;
    default: return value >= bound;
  }
}
