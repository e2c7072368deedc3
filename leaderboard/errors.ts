/**
 * The one error type the API turns into a response: a status code and a message that says where and what.
 *
 * @module
 */

/** A request the API refuses: answered as `{"error": message}` with `status`, after nothing was written. */
export class ApiError extends Error {
  /** The HTTP status (4xx). */
  readonly status: 400 | 401 | 403 | 404 | 409 | 413 | 415 | 429;
  /** Extra response headers (e.g. `Retry-After`). */
  readonly headers: Record<string, string>;

  /**
   * @param status The HTTP status.
   * @param message What is wrong, naming the field at fault.
   * @param headers Extra response headers.
   */
  constructor(status: ApiError["status"], message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.headers = headers;
  }
}
