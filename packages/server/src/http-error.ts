/**
 * The server's one HTTP error type. Route code throws it; the error middleware turns it (and anything else) into a
 * JSON body, so no request ever ends in an HTML stack trace or a dropped connection.
 */

export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: number,
    message: string,
    /** The JSON body sent; defaults to ComfyUI's error shape. */
    readonly body: unknown = { error: { type: httpErrorType(status), message, details: '', extra_info: {} } },
  ) {
    super(message);
  }
}

function httpErrorType(status: number): string {
  switch (status) {
    case 400: return 'bad_request';
    case 401: return 'unauthorized';
    case 403: return 'forbidden';
    case 404: return 'not_found';
    case 409: return 'conflict';
    case 413: return 'payload_too_large';
    case 415: return 'unsupported_media_type';
    case 429: return 'queue_full';
    case 503: return 'unavailable';
    case 507: return 'disk_full';
    default: return status >= 500 ? 'server_error' : 'bad_request';
  }
}

/** The JSON body for an error status, in ComfyUI's `{error:{type,message,details,extra_info}}` shape. */
export function errorBody(status: number, message: string, details = ''): unknown {
  return { error: { type: httpErrorType(status), message, details, extra_info: {} } };
}
