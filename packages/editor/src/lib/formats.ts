/**
 * The editor's one door to core's workflow formats (ComfyUI UI JSON, API prompts, PNG metadata, widget layout).
 * The conversions live in @uso-studio/core; the editor never reimplements them.
 */
export {
  widgetLayout,
  uiToApi,
  apiToUi,
  findMissingNodeTypes,
  detectWorkflowKind,
  readPngWorkflow,
  MissingNodeTypesError,
} from '@uso-studio/core';
