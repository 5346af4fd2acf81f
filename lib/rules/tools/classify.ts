/**
 * Tool classes: what a tool call does, judged from its name and arguments the way OpenClaw
 * judges mutation (its "tool-mutation" rules), with two differences a governance monitor
 * needs: a tool it does not know is `write` (OpenClaw assumes read), and what mutates is
 * split by how far it reaches (outbound, destructive, external). Pure.
 * @module
 */
import type { ToolCallEvent } from "../event.ts";
import { shellVerdict } from "./_shell.ts";
import type { ToolClass } from "./tool_class.ts";

/** A call's class and the reason, in a few words (never the arguments themselves). */
export interface Classification {
  /** The class. */
  class: ToolClass;
  /** Why it has that class. */
  why: string;
}

// OpenClaw's replay-safe (read-only) tools; web_fetch, web_search and x_search are read-only
// for OpenClaw but reach outside, so they are external here.
const READ_TOOLS = new Set([
  "agents_list",
  "conversations_list",
  "find",
  "get_goal",
  "glob",
  "grep",
  "view_image",
  "ls",
  "memory_get",
  "memory_search",
  "pdf",
  "read",
  "search",
  "sessions_history",
  "sessions_list",
  "sessions_search",
  "session_status",
  "tool_describe",
  "tool_search",
  "agents_describe",
]);
const WRITE_TOOLS = new Set([
  "write",
  "edit",
  "apply_patch",
  "sessions_spawn",
  "create_goal",
  "update_goal",
  "memory_set",
  "code_execution",
]);
const OUTBOUND_TOOLS = new Set(["sessions_send", "conversations_send", "conversations_turn"]);
const EXTERNAL_TOOLS = new Set(["web_fetch", "web_search", "x_search", "browser"]);

const READ_ACTIONS = new Set([
  "get",
  "list",
  "read",
  "status",
  "show",
  "fetch",
  "search",
  "query",
  "view",
  "poll",
  "log",
  "inspect",
  "check",
  "probe",
  "runs",
  "describe",
  "pending",
]);
const MESSAGE_READ_ACTIONS = new Set([
  "reactions",
  "read",
  "list_pins",
  "permissions",
  "thread_list",
  "search",
  "sticker_search",
  "member_info",
  "role_info",
  "emoji_list",
  "channel_info",
  "channel_list",
  "voice_status",
  "event_list",
]);
const PROCESS_READ_ACTIONS = new Set(["list", "log", "poll", "status"]);
const PROCESS_DESTRUCTIVE_ACTIONS = new Set(["kill", "clear", "remove"]);
const BROWSER_READ_ACTIONS = new Set(["console", "profiles", "snapshot", "status", "tabs"]);
// OpenClaw counts every nodes action as mutating but these.
const NODES_READ_ACTIONS = new Set(["status", "describe", "pending"]);
const GATEWAY_READ_ACTIONS = new Set(["config.get", "config.schema.lookup"]);
const DESTRUCTIVE_ACTIONS = new Set(["delete", "remove", "kill", "clear", "cancel", "purge"]);

function actionOf(args: unknown): string | undefined {
  const a = (args as Record<string, unknown> | null)?.action;
  return typeof a === "string" && a.trim() !== ""
    ? a.trim().toLowerCase().replace(/[\s-]+/g, "_")
    : undefined;
}

function commandOf(args: unknown): string | undefined {
  const r = args as Record<string, unknown> | null;
  const c = r?.command ?? r?.cmd;
  return typeof c === "string" && c.trim() !== "" ? c.trim() : undefined;
}

// session_status given a model switches the session to it (OpenClaw counts it as mutating).
function hasModel(args: unknown): boolean {
  const m = (args as Record<string, unknown> | null)?.model;
  return typeof m === "string" && m.trim() !== "";
}

/** Actions a reason or a summary may name: any other action is the agent's text, of any length. */
export const NAMED_ACTIONS: ReadonlySet<string> = new Set([
  ...READ_ACTIONS,
  ...MESSAGE_READ_ACTIONS,
  ...PROCESS_READ_ACTIONS,
  ...PROCESS_DESTRUCTIVE_ACTIONS,
  ...DESTRUCTIVE_ACTIONS,
  ...BROWSER_READ_ACTIONS,
  ...GATEWAY_READ_ACTIONS,
  "send",
  "reply",
  "react",
  "edit",
  "unsend",
  "write",
  "send_keys",
  "submit",
  "paste",
  "add",
  "update",
  "run",
  "steer",
]);

function shown(action: string): string {
  return NAMED_ACTIONS.has(action) ? `action ${action}` : "with an unlisted action";
}

// The class of a tool whose calls are read-only for some actions only.
function byAction(
  tool: string,
  action: string | undefined,
  read: ReadonlySet<string>,
): Classification {
  if (action !== undefined && read.has(action)) {
    return { class: "read", why: `${tool} action ${action} only reads` };
  }
  if (action !== undefined && DESTRUCTIVE_ACTIONS.has(action)) {
    return { class: "destructive", why: `${tool} action ${action} deletes or stops something` };
  }
  return {
    class: "write",
    why: action === undefined
      ? `${tool} without a read-only action`
      : `${tool} ${shown(action)} changes state`,
  };
}

/** The built-in class of a call of `tool` with `args` (no overrides). */
export function defaultClass(tool: string, args: unknown): Classification {
  const name = tool.trim().toLowerCase();
  const action = actionOf(args);
  if (name === "exec" || name === "bash") {
    const command = commandOf(args);
    if (command === undefined) return { class: "write", why: "no command seen" };
    return shellVerdict(command);
  }
  if (name === "session_status" && hasModel(args)) {
    return { class: "write", why: "session_status with a model changes the session's model" };
  }
  if (READ_TOOLS.has(name)) return { class: "read", why: "only reads" };
  if (WRITE_TOOLS.has(name)) return { class: "write", why: "changes state" };
  if (OUTBOUND_TOOLS.has(name)) return { class: "outbound", why: "sends to someone" };
  if (name === "browser" && action !== undefined && BROWSER_READ_ACTIONS.has(action)) {
    return { class: "read", why: `browser action ${action} only reads` };
  }
  if (EXTERNAL_TOOLS.has(name)) return { class: "external", why: "reaches outside the machine" };
  switch (name) {
    case "message":
      if (action !== undefined && MESSAGE_READ_ACTIONS.has(action)) {
        return { class: "read", why: `message action ${action} only reads` };
      }
      if (action === "delete" || action === "unsend") {
        return { class: "destructive", why: `message action ${action} deletes a message` };
      }
      return { class: "outbound", why: `message${action ? ` ${shown(action)}` : ""} sends` };
    case "process":
      if (action !== undefined && PROCESS_DESTRUCTIVE_ACTIONS.has(action)) {
        return { class: "destructive", why: `process action ${action} stops or removes` };
      }
      if (action === undefined || PROCESS_READ_ACTIONS.has(action)) {
        return { class: "read", why: `process ${action ? `action ${action}` : ""} only reads` };
      }
      return { class: "write", why: `process ${shown(action)} drives a process` };
    case "gateway":
      return byAction(name, action, GATEWAY_READ_ACTIONS);
    case "subagents":
      if (action === "cancel" || action === "kill") {
        return { class: "destructive", why: `subagents action ${action} stops a run` };
      }
      if (action === "steer") return { class: "write", why: "subagents action steer" };
      return { class: "read", why: "subagents listing" };
  }
  if (name === "nodes") return byAction(name, action, NODES_READ_ACTIONS);
  if (
    name === "canvas" || name === "cron" || name === "automations" || name.endsWith("_actions")
  ) {
    return byAction(name, action, READ_ACTIONS);
  }
  if (name.startsWith("message_") || name.includes("send")) {
    return { class: "outbound", why: `${name} sends (by its name)` };
  }
  return { class: "write", why: "not a known tool: counted as write" };
}

/** Classifies calls with the built-in table and the config's per-tool overrides. */
export class ToolClassifier {
  readonly #overrides: ReadonlyMap<string, ToolClass>;
  // The rules of one event ask in turn: the last answer is kept.
  #lastEvent: ToolCallEvent | undefined;
  #last: Classification | undefined;

  /** `overrides` maps tool names (any case) to the class every call of that tool gets. */
  constructor(overrides: Readonly<Record<string, ToolClass>> = {}) {
    this.#overrides = new Map(
      Object.entries(overrides).map(([k, v]) => [k.trim().toLowerCase(), v]),
    );
  }

  /** The class of a call of `tool` with `args`, and why. */
  classify(tool: string, args: unknown): Classification {
    const o = this.#overrides.get(tool.trim().toLowerCase());
    if (o !== undefined) return { class: o, why: `the config's tools entry for ${tool}` };
    return defaultClass(tool, args);
  }

  /** The class of the call an event reports (the last event's answer is reused). */
  ofEvent(event: ToolCallEvent): Classification {
    if (event !== this.#lastEvent || this.#last === undefined) {
      this.#last = this.classify(event.tool, event.args);
      this.#lastEvent = event;
    }
    return this.#last;
  }
}
