/** Prompt validation: ComfyUI's checks and error payloads for POST /prompt. */
export { validatePrompt, type ValidationResult, type ValidatePromptOptions } from './validate-prompt.ts';
export {
  VALIDATION_ERROR_TYPES,
  type ValidationError,
  type ValidationErrorType,
  type NodeErrors,
} from './validation-errors.ts';
export { typesMatch } from './types-match.ts';
export { coerceConstant, type CoerceResult } from './coerce.ts';
