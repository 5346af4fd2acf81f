import { assertEquals } from "../../../support/assert.ts";
import { confirmationOf } from "../../../../lib/rules/tools/confirmation.ts";
import type { ToolStatus } from "../../../../lib/rules/event.ts";
import { toolCall } from "../../../support/tool_calls.ts";

Deno.test("an exec or bash that ran (or failed) in a guarded session was confirmed by an operator", () => {
  for (const tool of ["exec", "bash", "EXEC"]) {
    for (const status of ["executed", "failed"] as ToolStatus[]) {
      const e = toolCall(tool, { command: "rm x" }, { permissionMode: "guarded", status });
      assertEquals(confirmationOf(e), "confirmed", `${tool} ${status}`);
    }
  }
});

Deno.test("an exec the gateway blocked, could not find, or whose end was not seen is unconfirmed", () => {
  for (const status of ["blocked", "not_found", "unknown"] as ToolStatus[]) {
    const e = toolCall("exec", { command: "rm x" }, { permissionMode: "guarded", status });
    assertEquals(confirmationOf(e), "unconfirmed", status);
  }
});

Deno.test("an exec outside a guarded session is unconfirmed: default, full, read-only or unknown mode", () => {
  for (const permissionMode of [undefined, "default", "full", "read-only", "Guarded "]) {
    const e = toolCall("exec", { command: "rm x" }, { permissionMode });
    assertEquals(confirmationOf(e), "unconfirmed", String(permissionMode));
  }
});

Deno.test("any tool other than exec is unconfirmed even in a guarded session", () => {
  for (const tool of ["write", "process", "message", "sessions_send", "web_fetch"]) {
    const e = toolCall(tool, { action: "send" }, { permissionMode: "guarded" });
    assertEquals(confirmationOf(e), "unconfirmed", tool);
  }
});
