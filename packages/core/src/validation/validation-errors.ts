/**
 * The error records of prompt validation, in ComfyUI's wire shape (`{type, message, details, extra_info}`), and the
 * builders that give each type its ComfyUI message. Clients match on `type` and show `message` and `details`.
 */
import { jsonSafe, pyRepr, pyStr } from './py-format.ts';

/** One validation failure, as POST /prompt returns it. */
export interface ValidationError {
  type: string;
  message: string;
  details: string;
  extra_info: Record<string, unknown>;
}

/** Per-node failures keyed by node id: the `node_errors` of POST /prompt. */
export type NodeErrors = Record<
  string,
  { errors: ValidationError[]; dependent_outputs: string[]; class_type: string }
>;

/** Every `type` validation can report. */
export const VALIDATION_ERROR_TYPES = [
  'no_prompt',
  'invalid_prompt',
  'prompt_no_outputs',
  'prompt_outputs_failed_validation',
  'required_input_missing',
  'bad_linked_input',
  'return_type_mismatch',
  'invalid_input_type',
  'value_smaller_than_min',
  'value_bigger_than_max',
  'value_not_in_list',
  'custom_validation_failed',
  'exception_during_validation',
  'exception_during_inner_validation',
  'dependency_cycle',
] as const;

export type ValidationErrorType = (typeof VALIDATION_ERROR_TYPES)[number];

/** ComfyUI leaves long option lists (scanned model folders) out of error payloads. */
const MAX_LISTED_OPTIONS = 20;

function error(type: ValidationErrorType, message: string, details: string, extraInfo: Record<string, unknown>): ValidationError {
  return { type, message, details, extra_info: extraInfo };
}

export const noPrompt = (): ValidationError => error('no_prompt', 'No prompt provided', 'No prompt provided', {});

/** ComfyUI's exact error (execution.py validate_prompt): the message names no node; the id is in `details`. */
export function missingClassType(nodeId: string): ValidationError {
  return error('invalid_prompt', 'Cannot execute because a node is missing the class_type property.', `Node ID '#${nodeId}'`, {});
}

export function nodeNotObject(nodeId: string): ValidationError {
  return error('invalid_prompt', `Cannot execute because node #${nodeId} is not an object.`, `Node ID '#${nodeId}'`, {
    node_id: nodeId,
    class_type: null,
    node_title: null,
  });
}

/** ComfyUI's exact error (execution.py validate_prompt): the node id is in `details`, `extra_info` is empty. */
export function unknownClassType(nodeId: string, classType: string): ValidationError {
  return error('invalid_prompt', `Cannot execute because node ${classType} does not exist.`, `Node ID '#${nodeId}'`, {});
}

export function malformedInputs(nodeId: string, classType: string, inputs: unknown): ValidationError {
  return error(
    'invalid_prompt',
    `Cannot execute because node #${nodeId} (${classType}) has malformed inputs: expected an object of input values.`,
    `Node ID '#${nodeId}'`,
    { node_id: nodeId, class_type: classType, received_value: jsonSafe(inputs) },
  );
}

export const promptNoOutputs = (): ValidationError => error('prompt_no_outputs', 'Prompt has no outputs', '', {});

export function promptOutputsFailed(lines: readonly string[]): ValidationError {
  return error('prompt_outputs_failed_validation', 'Prompt outputs failed validation', lines.join('\n'), {});
}

export function requiredInputMissing(input: string): ValidationError {
  return error('required_input_missing', 'Required input is missing', input, { input_name: input });
}

export function malformedLink(input: string, config: unknown, value: unknown): ValidationError {
  return error('bad_linked_input', 'Bad linked input, must be a length-2 list of [node_id, slot_index]', input, {
    input_name: input,
    input_config: config,
    received_value: jsonSafe(value),
  });
}

/**
 * ComfyUI looks the linked node up in the prompt and fails with a KeyError, which it reports as
 * `exception_during_inner_validation` carrying `str(KeyError)`: the quoted id.
 */
export function linkToMissingNode(input: string, config: unknown, link: [string, number]): ValidationError {
  const keyError = `'${link[0]}'`;
  return error('exception_during_inner_validation', 'Exception when validating inner node', keyError, {
    input_name: input,
    input_config: config,
    exception_message: keyError,
    exception_type: 'KeyError',
    traceback: [],
    linked_node: link,
  });
}

export function linkToMissingSlot(input: string, config: unknown, link: [string, number], sourceClass: string, outputCount: number): ValidationError {
  return error(
    'bad_linked_input',
    `Bad linked input, node #${link[0]} (${sourceClass}) has no output ${link[1]}`,
    `${input}, output ${link[1]} of ${outputCount}`,
    { input_name: input, input_config: config, received_value: link, linked_node: link },
  );
}

export function returnTypeMismatch(input: string, config: unknown, receivedType: string, inputType: string, link: [string, number]): ValidationError {
  return error(
    'return_type_mismatch',
    'Return type mismatch between linked nodes',
    `${input}, received_type(${receivedType}) mismatch input_type(${inputType})`,
    { input_name: input, input_config: config, received_type: receivedType, linked_node: link },
  );
}

export function invalidInputType(input: string, config: unknown, type: string, value: unknown, reason: string): ValidationError {
  return error('invalid_input_type', `Failed to convert an input value to a ${type} value`, `${input}, ${pyStr(value)}, ${reason}`, {
    input_name: input,
    input_config: config,
    received_value: jsonSafe(value),
    exception_message: reason,
  });
}

export function valueSmallerThanMin(input: string, config: unknown, shown: string, value: number, min: number): ValidationError {
  return error('value_smaller_than_min', `Value ${shown} smaller than min of ${min}`, input, {
    input_name: input,
    input_config: config,
    received_value: value,
  });
}

export function valueBiggerThanMax(input: string, config: unknown, shown: string, value: number, max: number): ValidationError {
  return error('value_bigger_than_max', `Value ${shown} bigger than max of ${max}`, input, {
    input_name: input,
    input_config: config,
    received_value: value,
  });
}

export function valueNotInList(input: string, config: unknown, value: unknown, options: readonly unknown[]): ValidationError {
  const long = options.length > MAX_LISTED_OPTIONS;
  const listInfo = long ? `(list of length ${options.length})` : pyRepr(options);
  return error('value_not_in_list', 'Value not in list', `${input}: ${pyRepr(value)} not in ${listInfo}`, {
    input_name: input,
    input_config: long ? null : config,
    received_value: jsonSafe(value),
  });
}

export function customValidationFailed(reason: unknown, inputName?: string): ValidationError {
  const text = typeof reason === 'string' ? reason : '';
  if (inputName === undefined) return error('custom_validation_failed', 'Custom validation failed for node', text, {});
  // execution.py: details f"{x}", plus f" - {r}" unless the hook returned False.
  return error('custom_validation_failed', 'Custom validation failed for node', reason === false ? inputName : `${inputName} - ${text}`, { input_name: inputName });
}

/** A node's `validate` hook, or a combo's option provider, threw. */
export function exceptionDuringValidation(cause: unknown, inputName?: string): ValidationError {
  const isError = cause instanceof Error;
  const message = isError ? cause.message : safeString(cause);
  const extra: Record<string, unknown> = {
    exception_type: isError ? cause.name : 'Error',
    exception_message: message,
    traceback: isError && typeof cause.stack === 'string' ? cause.stack.split('\n').slice(1).map((l) => l.trim()) : [],
  };
  if (inputName !== undefined) extra['input_name'] = inputName;
  return error('exception_during_validation', 'Exception when validating node', message, extra);
}

/** `cycleNodes` may list only part of a long cycle; `cycle_length` counts all of it. */
export function dependencyCycle(nodeId: string, path: string, cycleNodes: readonly string[], length: number): ValidationError {
  return error('dependency_cycle', 'Dependency cycle detected', path, {
    node_id: nodeId,
    cycle_nodes: [...cycleNodes],
    cycle_length: length,
  });
}

/** An unexpected failure inside validation itself (a getter that throws, a broken registry entry). */
export function validationCrashed(cause: unknown): ValidationError {
  const message = cause instanceof Error ? cause.message : safeString(cause);
  return error('invalid_prompt', `Prompt could not be validated: ${message}`, message, {
    exception_type: cause instanceof Error ? cause.name : 'Error',
  });
}

function safeString(value: unknown): string {
  try {
    return String(value);
  } catch {
    return pyRepr(value);
  }
}
