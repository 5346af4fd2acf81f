/**
 * Preloaded into a coordinator under test (`--preload`): once the test writes
 * `audits/moses/probe.json`, it tries, from inside the daemon's process and sandbox, each
 * thing the permission set forbids. Each attempt is left uncaught, as code that did not
 * expect the sandbox would leave it; the daemon must report each denial and keep running.
 */

interface Probe {
  /** A file outside audits/moses to write. */
  outside: string;
  /** A file in the state directory outside the read grant. */
  unrelated: string;
  /** A port on 127.0.0.1 other than the gateway's. */
  port: number;
  /** A file a spawned shell would create. */
  marker: string;
}

const attacks: Record<string, (p: Probe) => void> = {
  write: (p) => void Deno.writeTextFile(p.outside, "escaped"),
  read: (p) => void Deno.readTextFile(p.unrelated),
  net: (p) => void new WebSocket(`ws://127.0.0.1:${p.port}`),
  run: (p) => void new Deno.Command("sh", { args: ["-c", `echo ran > '${p.marker}'`] }).spawn(),
  env: () => void Deno.env.get("HOME"),
};

const poll = setInterval(() => {
  let probe: Probe;
  try {
    probe = JSON.parse(Deno.readTextFileSync("audits/moses/probe.json"));
  } catch {
    return; // not yet
  }
  clearInterval(poll);
  let delay = 0;
  for (const attack of Object.values(attacks)) setTimeout(() => attack(probe), delay += 20);
}, 50);
Deno.unrefTimer(poll);
