/**
 * Reads a command's options and positional arguments, strictly: what `node:util`'s
 * `parseArgs` does with `strict: true` and positionals allowed (`--name value`,
 * `--name=value`, `-n value`, `-nvalue`, groups of one-letter flags, `--` before
 * positionals, the last of a repeated option wins), without loading Deno's Node layer (about
 * 20 ms of every start).
 * @module
 */

/** An option the parser takes. */
export interface ArgOption {
  /** A flag (`true` when given) or an option with a value. */
  type: "boolean" | "string";
  /** Its one-letter form, if any. */
  short?: string;
}

/** What the parser found. */
export interface ParsedArgs {
  /** Each option given: `true` for a flag, the (last) value for the others. */
  values: Record<string, string | boolean | undefined>;
  /** The arguments that are not options, in order. */
  positionals: string[];
}

/** Reads `args` against `options` (by long name); throws an error naming a bad argument. */
export function parseArgs(args: string[], options: Record<string, ArgOption>): ParsedArgs {
  const values: Record<string, string | boolean | undefined> = {};
  const positionals: string[] = [];
  const byShort = new Map<string, string>();
  for (const [name, o] of Object.entries(options)) if (o.short) byShort.set(o.short, name);
  // The value after a string option given last in its argument.
  const next = (i: number, shown: string, long: string): string => {
    const value = args[i + 1];
    if (value === undefined) throw new Error(`Option ${shown} needs a value`);
    if (value.startsWith("-") && value !== "-") {
      throw new Error(
        `Option ${shown} needs a value: for one that starts with '-', write '--${long}=${value}'`,
      );
    }
    return value;
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      positionals.push(arg);
    } else if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      const option = Object.hasOwn(options, name) ? options[name] : undefined;
      if (option === undefined) throw unknown(eq < 0 ? arg : arg.slice(0, eq));
      if (option.type === "boolean") {
        if (eq >= 0) throw new Error(`Option --${name} takes no value`);
        values[name] = true;
      } else if (eq >= 0) {
        values[name] = arg.slice(eq + 1);
      } else {
        values[name] = next(i, `--${name}`, name);
        i++;
      }
    } else {
      // One-letter flags, grouped or not; a letter with a value takes the rest of the group,
      // or, last, the next argument.
      for (let k = 1; k < arg.length; k++) {
        const name = byShort.get(arg[k]!);
        if (name === undefined) throw unknown(`-${arg[k]}`);
        if (options[name]!.type === "boolean") {
          values[name] = true;
        } else if (k + 1 < arg.length) {
          values[name] = arg.slice(k + 1);
          break;
        } else {
          values[name] = next(i, `-${arg[k]}`, name);
          i++;
        }
      }
    }
  }
  return { values, positionals };
}

function unknown(option: string): Error {
  return new Error(`Unknown option: ${option} (an argument that starts with '-' goes after --)`);
}
