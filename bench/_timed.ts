/**
 * One whole process, timed: wall time, and CPU time where GNU time is there to give it.
 * @module
 */

// GNU time, where there is one, gives the CPU time too: on a busy machine it moves less
// than the wall time.
const GNU_TIME = (() => {
  try {
    return Deno.statSync("/usr/bin/time").isFile ? "/usr/bin/time" : undefined;
  } catch {
    return undefined;
  }
})();

/** Whether CPU times are measured (GNU time is there). */
export const MEASURES_CPU: boolean = GNU_TIME !== undefined;

/**
 * Wall and CPU (user + system) time of running `cmd` with `args` in `cwd`, in ms; CPU is NaN
 * without GNU time. Throws on an exit code other than those in `okCodes` (default: 0).
 */
export async function timed(
  cmd: string,
  args: string[],
  opts: { cwd: string; okCodes?: number[] },
): Promise<[number, number]> {
  const [c, a] = GNU_TIME ? [GNU_TIME, ["-f", "cpu %U %S", cmd, ...args]] : [cmd, args];
  const t0 = performance.now();
  const out = await new Deno.Command(c, {
    args: a,
    cwd: opts.cwd,
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const ms = performance.now() - t0;
  const err = new TextDecoder().decode(out.stderr);
  if (!(opts.okCodes ?? [0]).includes(out.code)) {
    throw new Error(`${cmd} ${args.join(" ")} failed: ${err}`);
  }
  const m = /cpu ([\d.]+) ([\d.]+)\s*$/.exec(err);
  return [ms, m ? (Number(m[1]) + Number(m[2])) * 1000 : NaN];
}
