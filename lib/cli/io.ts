/**
 * Where the command line writes: the `Io` every command takes, and the process's own.
 * @module
 */

/** Where the CLI writes; replaceable in tests. */
export interface Io {
  /** Writes a line to standard output. */
  out(text: string): void;
  /** Writes a line to standard error. */
  err(text: string): void;
  /** Whether stderr is a terminal (for the progress bar). */
  errIsTerminal(): boolean;
  /** Writes progress without a newline. */
  errRaw(text: string): void;
  /** Standard input (for `replay -`). */
  stdin(): ReadableStream<Uint8Array>;
  /** Whether to colour standard output (`log`, `report`): a terminal, NO_COLOR not set. */
  colour?(): boolean;
}

const encoder = new TextEncoder();

/** The process's real standard streams. */
export const PROCESS_IO: Io = {
  out: (t) => console.log(t),
  err: (t) => console.error(t),
  errIsTerminal: () => Deno.stderr.isTerminal(),
  errRaw: (t) => void Deno.stderr.writeSync(encoder.encode(t)),
  stdin: () => Deno.stdin.readable,
  colour: () => Deno.stdout.isTerminal() && !Deno.noColor,
};
