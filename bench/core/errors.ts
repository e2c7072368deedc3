/**
 * Errors that blame the input, not the program.
 *
 * Task entry points catch {@linkcode InputError} and print its message without a stack trace, then exit
 * non-zero; anything else is a bug and keeps its stack.
 *
 * @module
 */

/** Where in a file a problem was found. Lines are 1-based. */
export interface Location {
  /** Path of the file as the user gave it. */
  file: string;
  /** 1-based line number, for line-oriented formats such as JSONL. */
  line?: number;
}

/** A problem with user-supplied input (a file, a flag, a request body), reported with its location. */
export class InputError extends Error {
  /** Where the problem is, when it is in a file. */
  readonly location?: Location;

  /**
   * @param message What is wrong, in words a user can act on.
   * @param location The file (and line) at fault, prefixed to the message.
   */
  constructor(message: string, location?: Location) {
    super(location ? `${formatLocation(location)}: ${message}` : message);
    this.name = "InputError";
    this.location = location;
  }
}

/** Formats a location as `file:line` (or just `file`). */
export function formatLocation(location: Location): string {
  return location.line === undefined ? location.file : `${location.file}:${location.line}`;
}
