/**
 * The error for bad command-line usage (exit 2, with a pointer to `--help`).
 * @module
 */

/** Bad command-line usage: the message says what is wrong. */
export class UsageError extends Error {}
