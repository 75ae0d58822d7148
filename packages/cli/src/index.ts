export { runWorkflow, WorkflowRunError, formatValidationFailure, type RunWorkflowOptions, type RunWorkflowResult } from './run-workflow.ts';
export { readWorkflowFile, toApiPrompt, WorkflowInputError, type LoadedWorkflow } from './load-workflow.ts';
export { applyOverrides, parseOverride, matchNodes, OverrideError, type Override } from './overrides.ts';
export { main } from './main.ts';
