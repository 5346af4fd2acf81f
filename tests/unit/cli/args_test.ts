import { assertEquals, assertThrows } from "../../support/assert.ts";
import { parseArgs as nodeParseArgs } from "node:util";
import { type ArgOption, parseArgs } from "../../../lib/cli/args.ts";
import { rng } from "../../support/rng.ts";

const OPTIONS: Record<string, ArgOption> = {
  help: { type: "boolean", short: "h" },
  json: { type: "boolean" },
  follow: { type: "boolean", short: "f" },
  since: { type: "string" },
  ledger: { type: "string", short: "l" },
};

// What node:util's parseArgs makes of `args` (strict, positionals allowed), or "throws".
function nodeResult(args: string[]) {
  try {
    const { values, positionals } = nodeParseArgs({
      args,
      options: OPTIONS,
      allowPositionals: true,
      strict: true,
    });
    return { values: { ...values }, positionals };
  } catch {
    return "throws";
  }
}

function ownResult(args: string[]) {
  try {
    return parseArgs(args, OPTIONS);
  } catch {
    return "throws";
  }
}

Deno.test("the parser reads 20,000 argument lists as node:util's parseArgs does, errors included", () => {
  const next = rng(7);
  const words = [
    "--help",
    "--json",
    "--follow",
    "--since",
    "--ledger",
    "-h",
    "-f",
    "-l",
    "-hf",
    "-fl",
    "-lx",
    "-hl",
    "-hlx",
    "-fh",
    "--since=",
    "--since=1h",
    "--since=-1h",
    "--json=1",
    "--ledger=a=b",
    "--",
    "-",
    "a",
    "b c",
    "-1h",
    "--nope",
    "-x",
    "-hx",
    "---x",
    "--=x",
    "-h=1",
    "--constructor",
    "--toString",
    "x",
  ];
  let agreedErrors = 0;
  for (let i = 0; i < 20_000; i++) {
    const args: string[] = [];
    const n = Math.floor(next() * 6);
    for (let k = 0; k < n; k++) args.push(words[Math.floor(next() * words.length)]!);
    const want = nodeResult(args);
    assertEquals(ownResult(args), want, JSON.stringify(args));
    if (want === "throws") agreedErrors++;
  }
  // Both kinds of outcome were met often.
  assertEquals(agreedErrors > 2000 && agreedErrors < 18_000, true, String(agreedErrors));
});

Deno.test("the parser's errors name the argument and, for a value starting with '-', how to pass it", () => {
  const cases: [string[], RegExp][] = [
    [["--nope"], /^Unknown option: --nope \(an argument that starts with '-' goes after --\)$/],
    [["--nope=1"], /^Unknown option: --nope /],
    [["-hx"], /^Unknown option: -x /],
    [["--json=1"], /^Option --json takes no value$/],
    [["--since"], /^Option --since needs a value$/],
    [["-l"], /^Option -l needs a value$/],
    [
      ["--since", "-1h"],
      /^Option --since needs a value: for one that starts with '-', write '--since=-1h'$/,
    ],
    [
      ["-fl", "--json"],
      /^Option -l needs a value: for one that starts with '-', write '--ledger=--json'$/,
    ],
  ];
  for (const [args, message] of cases) {
    const err = assertThrows(() => parseArgs(args, OPTIONS));
    assertEquals(message.test(err.message), true, `${JSON.stringify(args)}: ${err.message}`);
  }
});
