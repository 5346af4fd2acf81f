import { assert, assertEquals } from "../../../support/assert.ts";
import {
  type Classification,
  defaultClass,
  ToolClassifier,
} from "../../../../lib/rules/tools/classify.ts";
import type { ToolClass } from "../../../../lib/rules/tools/tool_class.ts";
import type { ToolCallEvent } from "../../../../lib/rules/event.ts";

const exec = (command: string): Classification => defaultClass("exec", { command });

function assertClasses(cases: [string, ToolClass][], of: (x: string) => Classification): void {
  const got = cases.map(([x]) => [x, of(x).class]);
  assertEquals(got, cases);
}

Deno.test("OpenClaw's plain read-only exec commands are read: ls -la, cat, grep, head, tail, wc, stat, pwd, rg", () => {
  assertClasses([
    ["ls -la", "read"],
    ["cat README.md", "read"],
    ["grep -n TODO main.ts", "read"],
    ["head -n 5 f", "read"],
    ["tail f", "read"],
    ["wc -l f", "read"],
    ["stat f", "read"],
    ["pwd", "read"],
    ["rg pattern src", "read"],
    ["  LS -la  ", "read"],
  ], exec);
  assertEquals(exec("ls -la").why, "a plain read-only command");
  assertEquals(defaultClass("bash", { cmd: "ls" }).class, "read");
});

Deno.test("an exec command with ; & | < > or a newline is not read, even of read-only programs", () => {
  for (
    const c of [
      "cat a | grep b",
      "ls; pwd",
      "ls && pwd",
      "ls & pwd",
      "cat < f",
      "ls\npwd",
      "ls\rpwd",
      "cat a\\ b",
    ]
  ) {
    const v = exec(c);
    assert(v.class !== "read", c);
  }
  assertEquals(exec("cat a | grep b").class, "write");
  assertEquals(exec("cat a | grep b").why, "not a plain command (; & | < > or an expansion)");
});

Deno.test("an exec command with an expansion ($, *, ?, [], {}, ~, backticks) is not read", () => {
  assertClasses([
    ["cat $HOME/f", "write"],
    ["cat ${X}", "write"],
    ["ls *.ts", "write"],
    ["ls f?", "write"],
    ["ls [ab]", "write"],
    ["ls {a,b}", "write"],
    ["cat ~/.ssh/id_rsa", "write"],
    ["cat `which ls`", "write"],
    ["cat $(which ls)", "write"],
  ], exec);
});

Deno.test("quotes group words and hide nothing: quoted read-only commands are read, an unclosed quote is not", () => {
  assertClasses([
    ['grep "two words" f', "read"],
    ["grep 'a b' f", "read"],
    ['"ls" -la', "read"],
    ['grep "unclosed f', "write"],
    // Quoting does not hide a metacharacter: OpenClaw refuses the whole text.
    ['grep "a|b" f', "write"],
    ["grep '$x' f", "write"],
  ], exec);
});

Deno.test("sed is read only as sed -n Np (or N,Mp / $p) without -i, -e or --in-place", () => {
  assertClasses([
    ["sed -n 5p f", "read"],
    ["sed -n 1,10p f", "read"],
    ["sed -n $p f", "write"], // $ is an expansion character: OpenClaw refuses it too
    ["sed --quiet 5p f", "read"],
    ["sed 5p f", "write"],
    ["sed -i s/a/b/ f", "write"],
    ["sed -ni 5p f", "write"],
    ["sed -n -i 5p f", "write"],
    ["sed --in-place -n 5p f", "write"],
    ["sed -n -e 5p f", "write"],
    ["sed -n 5d f", "write"],
    ["sed -n 5w out f", "write"],
  ], exec);
});

Deno.test("rg with a flag that runs programs (--pre, --pre-glob, --hostname-bin, -z) is not read", () => {
  assertClasses([
    ["rg --pre x pattern", "write"],
    ["rg --pre=x pattern", "write"],
    ["rg --pre-glob *.gz pattern", "write"],
    ["rg --hostname-bin h pattern", "write"],
    ["rg -z pattern", "write"],
    ["rg --search-zip pattern", "write"],
    ["rg -n pattern", "read"],
  ], exec);
});

Deno.test("gh pr and gh issue read subcommands are read; --web, -w and other subcommands are not", () => {
  assertClasses([
    ["gh pr view 1", "read"],
    ["gh pr diff 1", "read"],
    ["gh pr checks 1", "read"],
    ["gh pr list", "read"],
    ["gh issue view 2", "read"],
    ["gh search issues x", "read"],
    ["gh pr view --web", "write"],
    ["gh pr view 1 --web=true", "write"],
    ["gh pr view -w 1", "write"],
    ["gh pr merge 1", "write"],
    ["gh issue close 2", "write"],
    ["gh search", "write"],
    ["gh api /repos", "write"],
  ], exec);
});

Deno.test("programs that delete or kill are destructive: rm, kill, find -delete, git reset --hard", () => {
  assertClasses([
    ["rm -rf x", "destructive"],
    ["/bin/rm x", "destructive"],
    ["sudo rm x", "destructive"],
    ["FOO=1 rm x", "destructive"],
    ["ls && rm x", "destructive"],
    ["echo $(rm x)", "destructive"],
    ["kill 1", "destructive"],
    ["pkill node", "destructive"],
    ["find . -delete", "destructive"],
    ["find . -name '*.log' -exec rm {} ;", "destructive"],
    ["git reset --hard HEAD~1", "destructive"],
    ["git clean -fd", "destructive"],
    ["git push --force origin main", "destructive"],
    ["truncate -s 0 f", "destructive"],
  ], exec);
  assertEquals(exec("rm -rf x").why, "runs rm");
  assertEquals(exec("find . -delete").why, "runs find -delete");
});

Deno.test("network programs are external; git push and mail programs are outbound", () => {
  assertClasses([
    ["curl https://example.com", "external"],
    ["wget -q https://example.com", "external"],
    ["ssh host", "external"],
    ["git clone https://x/y", "external"],
    ["git fetch", "external"],
    ["git push", "outbound"],
    ["git push origin main", "outbound"],
    ["sendmail a@b", "outbound"],
  ], exec);
  assertEquals(exec("curl https://example.com").why, "runs curl");
  assertEquals(exec("git push").why, "runs git push");
});

Deno.test("a > redirect to a file is destructive; to /dev/null, >> and 2>&1 it is not", () => {
  assertClasses([
    ["echo x > f", "destructive"],
    ["echo x>f", "destructive"],
    ["echo x >| f", "destructive"],
    ["echo x >> f", "write"],
    ["ls 2>/dev/null", "write"],
    ["ls > /dev/null", "write"],
    ["ls >/dev/null 2>&1", "write"],
    ["ls &>/dev/null", "write"],
    ["ls 2>&1", "write"],
  ], exec);
  assertEquals(exec("echo x > f").why, "overwrites a file (> redirect)");
});

Deno.test("other commands, and exec without a command, are write", () => {
  assertEquals(exec("npm install"), { class: "write", why: "not a read-only program" });
  assertEquals(defaultClass("exec", {}), { class: "write", why: "no command seen" });
  assertEquals(defaultClass("exec", undefined).class, "write");
  assertEquals(defaultClass("exec", { command: 42 }).class, "write");
  assertEquals(defaultClass("exec", { command: "   " }).class, "write");
});

Deno.test("process: kill, clear and remove are destructive, list, log, poll and status read, write and others write", () => {
  const p = (action?: string) => defaultClass("process", action ? { action } : {}).class;
  assertEquals(
    ["kill", "clear", "remove", "list", "log", "poll", "status", "write", "send-keys", "submit"]
      .map((a) => [a, p(a)]),
    [
      ["kill", "destructive"],
      ["clear", "destructive"],
      ["remove", "destructive"],
      ["list", "read"],
      ["log", "read"],
      ["poll", "read"],
      ["status", "read"],
      ["write", "write"],
      ["send-keys", "write"],
      ["submit", "write"],
    ],
  );
  assertEquals(p(), "read");
  assertEquals(p("KILL"), "destructive");
});

Deno.test("message: read actions are read, send and unknown actions outbound, delete and unsend destructive", () => {
  const m = (action?: string) => defaultClass("message", action ? { action } : {}).class;
  for (const a of ["read", "reactions", "list-pins", "search", "channel_list", "member info"]) {
    assertEquals(m(a), "read", a);
  }
  assertEquals([m("send"), m("reply"), m()], ["outbound", "outbound", "outbound"]);
  assertEquals([m("delete"), m("unsend")], ["destructive", "destructive"]);
});

Deno.test("gateway: config.get and config.schema.lookup are read, any other action or none is write", () => {
  assertEquals(defaultClass("gateway", { action: "config.get" }).class, "read");
  assertEquals(defaultClass("gateway", { action: "config.schema.lookup" }).class, "read");
  assertEquals(defaultClass("gateway", { action: "config.apply" }).class, "write");
  assertEquals(defaultClass("gateway", { action: "restart" }).class, "write");
  assertEquals(defaultClass("gateway", {}).class, "write");
});

Deno.test("web_fetch, web_search, x_search and browser are external; browser snapshot, tabs and status read", () => {
  for (const t of ["web_fetch", "web_search", "x_search", "browser", "Web_Fetch"]) {
    assertEquals(defaultClass(t, { url: "https://example.com" }).class, "external", t);
  }
  for (const a of ["snapshot", "tabs", "status", "console", "profiles"]) {
    assertEquals(defaultClass("browser", { action: a }).class, "read", a);
  }
  assertEquals(defaultClass("browser", { action: "navigate" }).class, "external");
  assertEquals(defaultClass("browser", { action: "click" }).class, "external");
});

Deno.test("sessions_send, conversations_send and conversations_turn are outbound; so is a tool named like sending", () => {
  for (
    const t of [
      "sessions_send",
      "conversations_send",
      "conversations_turn",
      "message_x",
      "send_sms",
    ]
  ) {
    assertEquals(defaultClass(t, {}).class, "outbound", t);
  }
});

Deno.test("OpenClaw's always-mutating tools are write and its replay-safe tools read", () => {
  for (
    const t of ["write", "edit", "apply_patch", "sessions_spawn", "create_goal", "update_goal"]
  ) {
    assertEquals(defaultClass(t, { path: "x" }).class, "write", t);
  }
  for (const t of ["read", "ls", "glob", "grep", "find", "sessions_list", "memory_get", "pdf"]) {
    assertEquals(defaultClass(t, { path: "x" }).class, "read", t);
  }
});

Deno.test("subagents cancel and kill are destructive, steer write, listing read", () => {
  assertEquals(defaultClass("subagents", { action: "kill" }).class, "destructive");
  assertEquals(defaultClass("subagents", { action: "cancel" }).class, "destructive");
  assertEquals(defaultClass("subagents", { action: "steer" }).class, "write");
  assertEquals(defaultClass("subagents", { action: "list" }).class, "read");
});

Deno.test("nodes, cron and canvas are read for read actions, destructive for delete, write otherwise", () => {
  assertEquals(defaultClass("cron", { action: "list" }).class, "read");
  assertEquals(defaultClass("cron", { action: "delete" }).class, "destructive");
  assertEquals(defaultClass("cron", { action: "add" }).class, "write");
  assertEquals(defaultClass("cron", {}).class, "write");
  assertEquals(defaultClass("nodes", { action: "status" }).class, "read");
  assertEquals(defaultClass("canvas", { action: "purge" }).class, "destructive");
  assertEquals(defaultClass("deploy_actions", { action: "get" }).class, "read");
});

Deno.test("an unknown tool is write, and the reason says it is not a known tool", () => {
  const c = defaultClass("frobnicate", { anything: true });
  assertEquals(c, { class: "write", why: "not a known tool: counted as write" });
});

Deno.test("the config's overrides win over the built-in table, whatever the case of the tool name", () => {
  const k = new ToolClassifier({ Deploy: "destructive", "  LS ": "external", exec: "outbound" });
  assertEquals(k.classify("deploy", {}), {
    class: "destructive",
    why: "the config's tools entry for deploy",
  });
  assertEquals(k.classify("DEPLOY", {}).class, "destructive");
  assertEquals(k.classify("ls", {}).class, "external");
  assertEquals(k.classify("Exec", { command: "ls" }).class, "outbound");
  assertEquals(k.classify("read", {}).class, "read");
  assertEquals(new ToolClassifier().classify("deploy", {}).class, "write");
});

Deno.test("ofEvent classifies each event once and a new event afresh", () => {
  const k = new ToolClassifier();
  const ev = (command: string): ToolCallEvent => ({
    kind: "tool_call",
    protocol: "openclaw",
    conversation: "c",
    agent: "a",
    at: 0,
    source: "live",
    call: "t1",
    tool: "exec",
    args: { command },
    argsHash: "0".repeat(64),
    status: "executed",
  });
  const a = ev("ls");
  const b = ev("rm x");
  assertEquals(k.ofEvent(a).class, "read");
  assert(k.ofEvent(a) === k.ofEvent(a));
  assertEquals(k.ofEvent(b).class, "destructive");
  assertEquals(k.ofEvent(a).class, "read");
});

Deno.test("the reason never repeats the arguments: no secret from a command, a path or a URL", () => {
  const secret = "hunter2-SECRET";
  const calls: [string, unknown][] = [
    ["exec", { command: `curl -H "Authorization: ${secret}" https://x` }],
    ["exec", { command: `rm -rf /tmp/${secret}` }],
    ["exec", { command: `echo ${secret} > f` }],
    ["exec", { command: `cat ${secret}` }],
    ["exec", { command: `TOKEN=${secret} npm publish` }],
    ["exec", { command: `gh pr view ${secret}` }],
    ["write", { path: `/tmp/${secret}`, content: secret }],
    ["web_fetch", { url: `https://example.com/?k=${secret}` }],
    ["frobnicate", { x: secret }],
  ];
  for (const [tool, args] of calls) {
    const c = defaultClass(tool, args);
    assert(!c.why.includes(secret), `${tool}: ${c.why}`);
    assert(!c.why.includes("hunter2"), `${tool}: ${c.why}`);
  }
});

Deno.test("sed -n Np followed by -i or --in-place edits the file and is not read (as in OpenClaw)", () => {
  // GNU sed takes options after the script: `sed -n 5p -i f` rewrites f to its fifth line.
  assertClasses([
    ["sed -n 5p -i f", "write"],
    ["sed -n 5p --in-place f", "write"],
    ["sed -n 5p --in-place=.bak f", "write"],
    ["sed -n 5p -e 6p f", "write"],
    ["sed -n 5p -f script.sed f", "write"],
    ["sed -n 5p --file=script.sed f", "write"],
  ], exec);
});

Deno.test("session_status is read, but with a model given it changes the session's model and is write (as in OpenClaw)", () => {
  assertEquals(defaultClass("session_status", {}).class, "read");
  assertEquals(defaultClass("session_status", { model: "  " }).class, "read");
  assertEquals(defaultClass("session_status", { model: "gpt-5" }).class, "write");
});

Deno.test("a redirect of another stream to a file overwrites it too and is destructive (2>f, 1>f, &>f)", () => {
  assertClasses([
    ["ls 2>errors.txt", "destructive"],
    ["ls 2> errors.txt", "destructive"],
    ["ls 1>out.txt", "destructive"],
    ["ls &>out.txt", "destructive"],
    ["ls 2>/dev/null >out.txt", "destructive"],
    ["ls >/dev/null.txt", "destructive"],
  ], exec);
});

Deno.test("an action the classifier does not know is not repeated in the reason (it is argument text)", () => {
  const action = `send ${"x".repeat(5000)} hunter2-SECRET\u0007`;
  for (const tool of ["message", "process", "gateway", "cron", "canvas"]) {
    const c = defaultClass(tool, { action });
    assert(!c.why.includes("hunter2"), `${tool}: ${c.why}`);
    assert(c.why.length < 100, `${tool}: ${c.why.length} characters`);
  }
  assertEquals(defaultClass("message", { action: "reply" }).why, "message action reply sends");
  assertEquals(
    defaultClass("process", { action: "send-keys" }).why,
    "process action send_keys drives a process",
  );
});

Deno.test("a destructive program behind a wrapper, an escape or a shell's -c is still destructive", () => {
  for (
    const c of [
      "bash -c 'rm -rf x'",
      "\\rm x",
      "command rm x",
      "timeout 5 rm x",
      "sudo -u bob rm x",
    ]
  ) {
    assertEquals(exec(c).class, "destructive", c);
  }
  assertEquals(exec("sh -c 'curl https://example.com'").class, "external");
});

Deno.test("git push: forced is destructive, with -C still outbound", () => {
  assertEquals(exec("git push -f origin main").class, "destructive");
  assertEquals(exec("git push --force-with-lease").class, "destructive");
  assertEquals(exec("git -C repo push").class, "outbound");
  assertEquals(exec("git -C repo fetch").class, "external");
});

Deno.test("nodes is read only for status, describe and pending, as OpenClaw counts it", () => {
  assertEquals(defaultClass("nodes", { action: "status" }).class, "read");
  assertEquals(defaultClass("nodes", { action: "list" }).class, "write");
});

Deno.test("wrapper flags that take no value, a shell's -lc, and find -exec with a path do not hide a program", () => {
  for (
    const c of [
      "sudo -E rm -rf /var/data",
      "env -i rm -rf /x",
      "bash -lc 'rm -rf /x'",
      "find . -exec /bin/rm {} +",
      "sudo -u bob -H rm x",
      "timeout -s KILL 5 rm x",
      "nice -n 10 rm x",
    ]
  ) assertEquals(exec(c).class, "destructive", c);
  assertEquals(exec("sudo -H curl http://x").class, "external");
  assertEquals(exec("find . -name x -exec grep y {} +").class, "write");
});
