/**
 * Named errors for safetensors files. Every message names the file and says what was expected, so a user who dropped
 * the wrong file into models/ can tell which one and why.
 */

export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`${file}: ${detail}`);
  }
}

/** The file does not exist (or is not a regular file). */
export class SafetensorsNotFoundError extends SafetensorsError {
  override name = 'SafetensorsNotFoundError';
  constructor(file: string, detail = 'file not found (expected a .safetensors file)') {
    super(file, detail);
  }
}

/** The file is shorter than its own header says: an interrupted download or copy. */
export class SafetensorsTruncatedError extends SafetensorsError {
  override name = 'SafetensorsTruncatedError';
}

/** The file is not a safetensors file at all (or its header is malformed). */
export class SafetensorsFormatError extends SafetensorsError {
  override name = 'SafetensorsFormatError';
}
