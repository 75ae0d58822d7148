/**
 * The front-end routes ComfyUI serves from custom_node_manager.py: `/i18n` (translations from node packs; ours carry
 * none, so `{}`) and `/workflow_templates` (`{pack: [workflow names]}`), with each template's JSON at
 * `/workflow_templates/{pack}/{name}.json`. Our templates are the repository's `workflows/` folder, as pack `uso-studio`.
 */
import { existsSync, readdirSync } from 'node:fs';
import express from 'express';
import type { Router } from 'express';
import { HttpError } from '../http-error.ts';
import { resolveExistingFile } from '../safe-path.ts';

export const TEMPLATE_PACK = 'uso-studio';

export function frontendRoutes(workflowsDir: string | undefined): Router {
  const r = express.Router();
  const names = (): string[] =>
    workflowsDir && existsSync(workflowsDir)
      ? readdirSync(workflowsDir).filter((f) => f.endsWith('.json') && !f.startsWith('.')).map((f) => f.slice(0, -5)).sort()
      : [];

  r.get('/i18n', (_req, res) => {
    res.json({});
  });

  r.get('/workflow_templates', (_req, res) => {
    const list = names();
    res.json(list.length ? { [TEMPLATE_PACK]: list } : {});
  });

  r.get('/workflow_templates/:pack/:file', (req, res) => {
    if (req.params.pack !== TEMPLATE_PACK || !workflowsDir || !String(req.params.file).endsWith('.json')) throw new HttpError(404, 'Not found');
    const file = resolveExistingFile(workflowsDir, '', String(req.params.file));
    res.type('application/json').sendFile(file);
  });

  return r;
}
