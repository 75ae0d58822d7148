/**
 * ComfyUI compatibility of the schemas: the seven real ComfyUI-saved USO workflows convert to API prompts with these
 * packs' /object_info (widget order, names, options) and validate, except for the model and image files a fresh
 * folder lacks; and every saved widget value reaches the input its position names.
 */
import { describe, it, expect, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NodeRegistry, flattenWorkflow, processDynamicPrompt, uiToApi, validatePrompt, widgetLayout, type HostEnvironment } from '@uso-studio/core';
import { pack as comfyPack } from '@uso-studio/nodes-comfy';
import { pack as imagePack } from '@uso-studio/nodes-image';
import { pack as usoPack } from './index.ts';

// shared/ sits beside the repository (CI lays a copy there); tests read it in place.
const FIXTURES = fileURLToPath(new URL('../../../../shared/fixtures/comfyui-uso', import.meta.url));
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'uso-fixtures-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
const env: HostEnvironment = { inputDir: root, outputDir: root, tempDir: root, modelsDir: root };
const registry = new NodeRegistry([...comfyPack.nodes, ...imagePack.nodes, ...usoPack.nodes]);
const files = fs.existsSync(FIXTURES) ? fs.readdirSync(FIXTURES).filter((f) => f.endsWith('.json')) : [];

describe('ComfyUI USO workflows', () => {
  it('are all present', () => {
    expect(files.length).toBe(7);
  });

  it.each(files)('%s converts and validates except for missing files', async (file) => {
    const workflow = JSON.parse(fs.readFileSync(path.join(FIXTURES, file), 'utf8'));
    const { prompt } = uiToApi(workflow, registry.objectInfo(env), { random: () => 0 });
    const result = await validatePrompt(prompt, registry, env);
    const problems: string[] = [];
    let missingFiles = 0;
    const errors = result.ok ? result.nodeErrors : { ...result.nodeErrors };
    for (const [id, nodeError] of Object.entries(errors)) {
      for (const e of (nodeError as { errors: Array<{ type: string; extra_info?: { input_name?: string } }> }).errors) {
        const input = e.extra_info?.input_name ?? '';
        const def = registry.get(prompt[id]!.class_type)?.inputs.required?.[input];
        // A missing model file fails its combo; a missing input image fails LoadImage's own check, as in ComfyUI.
        const missingFile =
          (e.type === 'value_not_in_list' && def?.modelFolder !== undefined) ||
          ((e.type === 'value_not_in_list' || e.type === 'custom_validation_failed') && def?.image_upload === true);
        if (missingFile) missingFiles++;
        else problems.push(`${prompt[id]!.class_type}.${input}: ${e.type}`);
      }
    }
    if (!result.ok && result.error.type !== 'prompt_outputs_failed_validation') problems.push(`prompt: ${result.error.type}`);
    expect(problems).toEqual([]);
    // The empty folders really were checked: every workflow names model files that are not there.
    expect(missingFiles).toBeGreaterThan(0);
    expect(Object.keys(prompt).length).toBeGreaterThan(10);
  });

  it.each(files)('%s keeps every widget value in place: each saved value reaches its own input', (file) => {
    const workflow = JSON.parse(fs.readFileSync(path.join(FIXTURES, file), 'utf8'));
    const info = registry.objectInfo(env);
    const first = () => 0;
    const { prompt } = uiToApi(workflow, info, { random: first });
    let compared = 0;
    for (const flat of flattenWorkflow(workflow).nodes) {
      const entry = info[flat.type];
      const sent = prompt[flat.id];
      // Notes, muted and bypassed nodes (and the instances they stand for) send nothing.
      if (!entry || !sent) continue;
      const layout = widgetLayout(entry);
      const saved = flat.node.widgets_values as unknown[] | undefined;
      expect(saved, `${flat.type} #${flat.id}`).toHaveLength(layout.length);
      layout.forEach((slot, index) => {
        if (slot.kind !== 'input') return;
        const input = flat.inputs.find((i) => i.widget === slot.name || i.name === slot.name);
        // A linked widget takes its value from the link; a promoted one from the subgraph instance.
        if (input?.source?.kind === 'link') return;
        const value = input?.source?.kind === 'value' ? input.source.value : saved![index];
        const expected = slot.spec.options.dynamicPrompts === true && typeof value === 'string' ? processDynamicPrompt(value, first) : value;
        expect(sent.inputs[slot.name], `${flat.type} #${flat.id} ${slot.name}`).toEqual(expected);
        compared++;
      });
    }
    expect(compared).toBeGreaterThan(20);
  });
});
