/**
 * An error as it crosses from verify's worker to the main thread. Structured cloning
 * keeps only an error's message, so its class goes by name and is re-created, and the
 * CLI classifies it (permission, missing file, ...) as it would the same error in one pass.
 * @module
 */

/** `kind` names the error's class in `Deno.errors` ("NotCapable", "NotFound", ...), or is "Error". */
export interface WorkerError {
  kind: string;
  message: string;
}

type ErrorClass = new (message: string) => Error;
const DENO_ERRORS = Deno.errors as unknown as Record<string, ErrorClass>;

/** The form of `err` that crosses from a worker. */
export function toWorkerError(err: unknown): WorkerError {
  if (!(err instanceof Error)) return { kind: "Error", message: String(err) };
  const kind = Object.hasOwn(DENO_ERRORS, err.name) && err instanceof DENO_ERRORS[err.name]!
    ? err.name
    : "Error";
  return { kind, message: err.message };
}

/** The error a worker reported, re-created with its class. */
export function fromWorkerError(e: WorkerError): Error {
  const cls = Object.hasOwn(DENO_ERRORS, e.kind) ? DENO_ERRORS[e.kind]! : Error;
  return new cls(e.message);
}
