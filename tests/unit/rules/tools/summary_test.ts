import { assert, assertEquals } from "../../../support/assert.ts";
import { MAX_SUMMARY_CHARS, summarize } from "../../../../lib/rules/tools/summary.ts";

Deno.test("a call with a path is summarised by the path alone, whatever else it carries", () => {
  assertEquals(
    summarize("write", { path: "/tmp/out.txt", content: "secret body" }),
    "/tmp/out.txt",
  );
  assertEquals(summarize("edit", { file_path: "a.ts", oldText: "x", newText: "y" }), "a.ts");
  assertEquals(summarize("read", { filePath: "b.ts" }), "b.ts");
  assertEquals(summarize("ls", { directory: "src" }), "src");
});

Deno.test("exec is summarised by its program's basename: the first word only", () => {
  assertEquals(summarize("exec", { command: "ls -la /etc" }), "ls");
  assertEquals(
    summarize("exec", { command: "  /usr/bin/curl -H 'Authorization: x' https://h" }),
    "curl",
  );
  assertEquals(summarize("bash", { cmd: "rm -rf build" }), "rm");
  assertEquals(summarize("EXEC", { command: "git push" }), "git");
  assertEquals(summarize("exec", { command: 42 }), "");
  assertEquals(summarize("exec", {}), "");
});

Deno.test("a URL is summarised by its host: no path, query, fragment or credentials", () => {
  assertEquals(
    summarize("web_fetch", { url: "https://user:pw@example.com:8443/a/b?token=secret#frag" }),
    "example.com:8443",
  );
  assertEquals(summarize("browser", { url: "http://example.org/path" }), "example.org");
  assertEquals(summarize("web_fetch", { url: "not a url secret" }), "");
});

Deno.test("a call with only an action is summarised by the action", () => {
  assertEquals(
    summarize("message", { action: "send", text: "hello secret", to: 1 }),
    "action send",
  );
  assertEquals(summarize("process", { action: "kill", pid: 3 }), "action kill");
});

Deno.test("a call with nothing safe to say, or arguments that are not an object, gives an empty summary", () => {
  assertEquals(summarize("web_search", { query: "secret words" }), "");
  assertEquals(summarize("sessions_send", { message: "secret words", sessionKey: "k" }), "");
  assertEquals(summarize("x", undefined), "");
  assertEquals(summarize("x", null), "");
  assertEquals(summarize("x", "a string"), "");
  assertEquals(summarize("x", ["path"]), "");
  assertEquals(summarize("write", { path: "" }), "");
});

Deno.test("control characters are removed from a summary", () => {
  const s = summarize("write", { path: "a\nb\u0000c\u001b[31md\u007f" });
  assertEquals(s, "a b c [31md ");
  // deno-lint-ignore no-control-regex
  assert(!/[\u0000-\u001f\u007f]/.test(s));
  assertEquals(summarize("message", { action: "send\r\ninjected" }), "");
});

Deno.test("a summary is bounded to MAX_SUMMARY_CHARS and well-formed", () => {
  const s = summarize("write", { path: `/${"d".repeat(10_000)}` });
  assertEquals(s.length, MAX_SUMMARY_CHARS);
  assert(s.endsWith("…"));
  assertEquals(summarize("exec", { command: `${"x".repeat(500)} y` }).length, MAX_SUMMARY_CHARS);
  assertEquals(summarize("write", { path: "a\ud800b" }), "a\ufffdb");
});

Deno.test("exec's summary skips variable assignments and keeps only the program's name: no secret set before it", () => {
  assertEquals(summarize("exec", { command: "API_TOKEN=hunter2 curl https://x" }), "curl");
  assertEquals(summarize("exec", { command: "A=1 B='two words' /bin/rm x" }), "rm");
  assertEquals(summarize("exec", { command: "curl${IFS}https://x/?token=hunter2" }), "curl");
  assertEquals(summarize("exec", { command: "echo$IFS'hunter2'" }), "echo");
  assertEquals(summarize("exec", { command: "TOKEN=hunter2" }), "");
});

Deno.test("a message's recipient is not a summary", () => {
  assertEquals(
    summarize("message", { action: "send", target: "+15550100", text: "hi" }),
    "action send",
  );
});

Deno.test("an action is a summary only when it is a known one: any other is the agent's text", () => {
  assertEquals(summarize("nodes", { action: "sk-live-SECRET_TOKEN_123" }), "");
  assertEquals(summarize("message", { action: "Send" }), "action send");
});
