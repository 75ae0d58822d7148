/**
 * zod schemas for every request body and query. Anything that fails them gets a 400 in ComfyUI's error shape.
 */
import { z } from 'zod';

const id = z.string().min(1).max(256);

export const promptBodySchema = z.object({
  prompt: z.unknown().optional(),
  // eslint-disable-next-line no-control-regex
  client_id: z.string().max(256).regex(/^[^\u0000-\u001f\u007f]*$/, 'client_id may not hold control characters').optional(),
  extra_data: z.record(z.string(), z.unknown()).optional(),
  front: z.boolean().optional(),
  number: z.union([z.number().finite(), z.string().regex(/^-?\d+(\.\d+)?$/).transform(Number)]).optional(),
  // Printable, no separators: the id ends up in logs, URLs and history keys.
  prompt_id: z.string().regex(/^[\w.:-]{1,128}$/, 'prompt_id may hold letters, digits, _ . : - (at most 128)').optional(),
  partial_execution_targets: z.array(id).max(10_000).optional(),
}).loose();

export const clearDeleteSchema = z.object({
  clear: z.boolean().optional(),
  delete: z.array(id).max(100_000).optional(),
}).loose();

export const interruptSchema = z.object({ prompt_id: id.optional() }).loose();

export const freeSchema = z.object({ unload_models: z.boolean().optional(), free_memory: z.boolean().optional() }).loose();

const intString = z.string().regex(/^-?\d{1,9}$/).transform(Number);
export const historyQuerySchema = z.object({
  max_items: intString.pipe(z.number().int().min(0)).optional(),
  offset: intString.pipe(z.number().int().min(-1)).optional(),
}).loose();
