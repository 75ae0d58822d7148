import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ExtraModelPathsError, readExtraModelPaths } from './extra-model-paths.ts';
import { buildModelSearchPaths } from './model-paths.ts';

const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'extra-paths-')));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
const mkdir = (...p: string[]) => fs.mkdirSync(path.join(root, ...p), { recursive: true });

// The shape of ComfyUI's extra_model_paths.yaml.example: a ComfyUI install as one section, another tool as a second.
const YAML = `
comfyui:
    base_path: comfy/
    is_default: true
    checkpoints: models/checkpoints/
    clip: models/clip/
    unet: models/unet/
    loras: |
         models/loras/
         models/more_loras/
    vae: models/vae/

a1111:
    base_path: ${'${USO_TEST_A1111}'}
    checkpoints: models/Stable-diffusion
    vae:
      - models/VAE
      - models/VAE-approx

absolute:
    text_encoders: ${root}/shared/text_encoders

empty_section:
`;

describe('extra_model_paths.yaml', () => {
  it('reads sections, base paths, multi-line strings, lists, legacy names and is_default like ComfyUI', () => {
    for (const d of ['comfy/models/checkpoints', 'comfy/models/clip', 'comfy/models/unet', 'comfy/models/loras', 'comfy/models/vae', 'webui/models/Stable-diffusion', 'webui/models/VAE', 'shared/text_encoders']) mkdir(d);
    process.env.USO_TEST_A1111 = path.join(root, 'webui');
    const file = path.join(root, 'extra_model_paths.yaml');
    fs.writeFileSync(file, YAML);
    const extra = readExtraModelPaths(file);
    expect(extra.dirs.filter((d) => d.folder === 'loras').map((d) => d.dir)).toEqual([
      path.join(root, 'comfy/models/loras'),
      path.join(root, 'comfy/models/more_loras'),
    ]);
    // Paths that do not exist are reported, not fatal.
    expect(extra.missing).toEqual([path.join(root, 'comfy/models/more_loras'), path.join(root, 'webui/models/VAE-approx')]);

    const paths = buildModelSearchPaths(['/data/models'], extra.dirs);
    // is_default puts the ComfyUI section first; other sections come after the models directory.
    expect(paths.folders.checkpoints).toEqual([
      path.join(root, 'comfy/models/checkpoints'),
      '/data/models/checkpoints',
      path.join(root, 'webui/models/Stable-diffusion'),
    ]);
    expect(paths.folders.diffusion_models).toEqual([path.join(root, 'comfy/models/unet'), '/data/models/unet', '/data/models/diffusion_models']);
    expect(paths.folders.text_encoders).toEqual([
      path.join(root, 'comfy/models/clip'),
      '/data/models/text_encoders',
      '/data/models/clip',
      path.join(root, 'shared/text_encoders'),
    ]);
    expect(paths.folders.vae).toEqual([
      path.join(root, 'comfy/models/vae'),
      '/data/models/vae',
      path.join(root, 'webui/models/VAE'),
      path.join(root, 'webui/models/VAE-approx'),
    ]);
    expect(paths.roots).toEqual(['/data/models', path.join(root, 'comfy'), path.join(root, 'webui'), path.join(root, 'shared/text_encoders')]);
  });

  it('resolves a relative base_path against the YAML file, not the working directory', () => {
    const sub = path.join(root, 'conf');
    fs.mkdirSync(sub, { recursive: true });
    fs.writeFileSync(path.join(sub, 'paths.yaml'), 'x:\n  base_path: ../comfy\n  loras: models/loras\n');
    expect(readExtraModelPaths(path.join(sub, 'paths.yaml')).dirs[0]!.dir).toBe(path.join(root, 'comfy/models/loras'));
  });

  it('says which file and what is wrong for a config it cannot use', () => {
    const bad = path.join(root, 'bad.yaml');
    fs.writeFileSync(bad, 'comfyui: [unclosed');
    expect(() => readExtraModelPaths(bad)).toThrow(ExtraModelPathsError);
    expect(() => readExtraModelPaths(bad)).toThrow(/bad\.yaml: not valid YAML/);
    fs.writeFileSync(bad, '- just\n- a list\n');
    expect(() => readExtraModelPaths(bad)).toThrow(/expected named sections/);
    fs.writeFileSync(bad, 'comfyui:\n  loras: 3\n');
    expect(() => readExtraModelPaths(bad)).toThrow(/section 'comfyui', folder 'loras': expected a path/);
    expect(() => readExtraModelPaths(path.join(root, 'absent.yaml'))).toThrow(/absent\.yaml: cannot read.*ENOENT/);
  });
});
