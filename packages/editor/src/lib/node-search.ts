/**
 * The node search behind double-click and link release: ranks node classes by how well their title, type and
 * category match the query, optionally keeping only classes with a socket that fits a dragged link.
 */
import type { ObjectInfo } from './object-info.ts';
import { typesMatch } from './slot-colors.ts';

export interface SearchHit { type: string; title: string; category: string; score: number }
export interface SearchFilter {
  /** Keep classes with an input this output type can feed. */
  inputType?: string;
  /** Keep classes with an output that can feed this input type. */
  outputType?: string;
}

/** Up to `limit` node classes matching `query`, best first; an empty query lists everything that passes the filter. */
export function searchNodes(info: ObjectInfo, query: string, filter: SearchFilter = {}, limit = 50): SearchHit[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  const hits: SearchHit[] = [];
  for (const entry of Object.values(info)) {
    if (filter.inputType && !inputTypes(entry).some((t) => typesMatch(filter.inputType!, t))) continue;
    if (filter.outputType && !entry.output.some((t) => typesMatch(t, filter.outputType!))) continue;
    const title = entry.display_name || entry.name;
    const hay = [title.toLowerCase(), entry.name.toLowerCase(), entry.category.toLowerCase()];
    let score = 0;
    let ok = true;
    for (const w of words) {
      const best = Math.max(
        hay[0]!.startsWith(w) ? 6 : hay[0]!.includes(w) ? 4 : 0,
        hay[1]!.startsWith(w) ? 5 : hay[1]!.includes(w) ? 3 : 0,
        hay[2]!.includes(w) ? 1 : 0,
        fuzzy(hay[0]!, w) ? 0.5 : 0,
      );
      if (best === 0) {
        ok = false;
        break;
      }
      score += best;
    }
    if (!ok) continue;
    if (words.length && hay[0] === words.join(' ')) score += 10;
    hits.push({ type: entry.name, title, category: entry.category, score });
  }
  hits.sort((a, b) => b.score - a.score || a.title.localeCompare(b.title));
  return hits.slice(0, limit);
}

function inputTypes(entry: ObjectInfo[string]): string[] {
  const out: string[] = [];
  for (const group of [entry.input.required, entry.input.optional ?? {}]) {
    for (const spec of Object.values(group)) {
      const t = spec[0];
      out.push(Array.isArray(t) ? 'COMBO' : String(t));
    }
  }
  return out;
}

/** The letters of `word` appear in order in `text`. */
function fuzzy(text: string, word: string): boolean {
  let i = 0;
  for (const ch of text) if (ch === word[i]) i++;
  return i === word.length;
}

/** A search entry for a node class the front end defines itself (never sent to the server). */
function frontendEntry(name: string, displayName: string, description: string, inputs: Record<string, [string]>, outputs: string[], outputNames: string[]): ObjectInfo[string] {
  return {
    input: { required: inputs },
    input_order: { required: Object.keys(inputs) },
    output: outputs,
    output_is_list: outputs.map(() => false),
    output_name: outputNames,
    name,
    display_name: displayName,
    description,
    category: 'utils',
    output_node: false,
    python_module: 'frontend',
  };
}

/**
 * Front-end node types the search offers beside the server's classes: ComfyUI's Primitive, Reroute, Note and
 * MarkdownNote. Primitive's real output is `*` but feeds only widget inputs, so for the type filter it is listed as the
 * widget types: a link dragged out of an INT socket offers it, one out of an IMAGE socket does not. Merge before
 * searching: `searchNodes({ ...FRONTEND_SEARCH_ENTRIES, ...objectInfo }, query)`.
 */
export const FRONTEND_SEARCH_ENTRIES: ObjectInfo = {
  PrimitiveNode: frontendEntry('PrimitiveNode', 'Primitive', 'Feeds one value to the widget inputs it is linked to.', {}, ['INT,FLOAT,STRING,BOOLEAN,COMBO'], ['connect to widget input']),
  Reroute: frontendEntry('Reroute', 'Reroute', 'Passes one link through a point of your choosing, to tidy the graph.', { input: ['*'] }, ['*'], ['']),
  Note: frontendEntry('Note', 'Note', 'A text note on the canvas; it never runs.', {}, [], []),
  MarkdownNote: frontendEntry('MarkdownNote', 'MarkdownNote', 'A note written in Markdown; it never runs.', {}, [], []),
};
