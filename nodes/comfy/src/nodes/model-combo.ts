/** Combo inputs listing a model folder's files, computed on request. */

import type { InputDef } from '@uso-studio/core';
import { listModelFiles, type ModelFolder } from '../models/model-files.ts';
import { modelRootsOf } from '../models/model-paths.ts';

/** A COMBO input over the files of `folder` (with `modelFolder` so hosts can name a missing file). */
export function modelCombo(folder: ModelFolder, tooltip?: string): InputDef {
  return {
    type: 'COMBO',
    options: (env) => listModelFiles(modelRootsOf(env), folder),
    modelFolder: folder,
    ...(tooltip ? { tooltip } : {}),
  };
}
