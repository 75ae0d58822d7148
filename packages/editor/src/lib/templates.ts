/**
 * The shipped workflows (the repository's `workflows/*.json`), bundled at build time, and the choice of the default one.
 */

export interface Template { name: string; workflow: Record<string, unknown> }

const modules = import.meta.glob<Record<string, unknown>>('../../../../workflows/*.json', { eager: true, import: 'default' });

/** The bundled templates, sorted by name (empty when the workflows folder is). */
export function bundledTemplates(): Template[] {
  return templatesFrom(modules);
}

/** Turns glob results (`path -> JSON`) into named templates. */
export function templatesFrom(found: Record<string, Record<string, unknown>>): Template[] {
  return Object.entries(found)
    .map(([path, workflow]) => ({ name: path.split('/').pop()!.replace(/\.json$/i, ''), workflow }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** The shipped workflow the editor opens first (style + subject: workflows/build-workflows.ts names it the default). */
export const DEFAULT_TEMPLATE = 'uso-style-subject';

/**
 * The template to open on first start: one named `default` or {@link DEFAULT_TEMPLATE}, else the first whose name
 * mentions USO, else the first.
 */
export function pickDefaultTemplate(templates: Template[]): Template | undefined {
  return (
    templates.find((t) => t.name.toLowerCase() === 'default') ??
    templates.find((t) => t.name === DEFAULT_TEMPLATE) ??
    templates.find((t) => /uso/i.test(t.name)) ??
    templates[0]
  );
}
