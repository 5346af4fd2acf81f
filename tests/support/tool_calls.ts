/** Tool-call events and a rule engine over the tool rules, for the unit tests of those rules. */
import { RuleEngine } from "../../lib/rules/engine.ts";
import type { RuleEvent, ToolCallEvent } from "../../lib/rules/event.ts";
import type { Finding } from "../../lib/rules/finding.ts";
import { DEFAULT_GOVERNANCE, type Governance } from "../../lib/rules/governance.ts";
import { RoleMap } from "../../lib/rules/roles.ts";
import { DEFAULT_SEQUENCE } from "../../lib/rules/sequence.ts";
import type { Rule } from "../../lib/rules/rule.ts";
import {
  ModeRule,
  PostureRule,
  RoleRule,
  type ToolClass,
  ToolClassifier,
} from "../../lib/rules/tools/mod.ts";
import { canonicalJson, sha256Hex } from "../../lib/util/mod.ts";

/** A word placed in arguments that must never come out of the rules. */
export const SECRET = "hunter2-TOPSECRET";

/** A tool-call event of `tool` with `args` (hash computed), overridden by `more`. */
export function toolCall(
  tool: string,
  args: unknown,
  more: Partial<ToolCallEvent> = {},
): ToolCallEvent {
  return {
    kind: "tool_call",
    protocol: "openclaw",
    conversation: "agent:main:main",
    agent: "main",
    at: 1_795_000_000_000,
    id: "session|run-1|call-1",
    session: "agent:main:main",
    source: "live",
    run: "run-1",
    call: "call-1",
    tool,
    args,
    argsHash: sha256Hex(canonicalJson(args)),
    status: "executed",
    ...more,
  };
}

/** Governance with these mode and posture (role primary). */
export function governance(mode: unknown, posture: unknown): Governance {
  return {
    fields: { ...DEFAULT_GOVERNANCE.fields, mode, posture },
    broadcast: false,
  };
}

/** A rule engine over `rules`, its governance settable, collecting findings. */
export class ToolRig {
  readonly findings: Finding[] = [];
  gov: Governance = governance("none", "offense");
  readonly engine: RuleEngine;

  constructor(rules: readonly Rule[]) {
    let n = 0;
    this.engine = new RuleEngine(rules, {
      governance: () => this.gov,
      onFinding: (f) => this.findings.push(f),
      newId: () => `fresh-${++n}`,
    });
  }

  /** Judges `event` under `gov` and returns the findings it made. */
  judge(event: RuleEvent, gov?: Governance): Finding[] {
    if (gov !== undefined) this.gov = gov;
    const before = this.findings.length;
    this.engine.handle(event);
    return this.findings.slice(before);
  }
}

/** The three tool rules over one classifier, with `observer` mapped to the observer role. */
export function allToolRules(
  overrides: Record<string, ToolClass> = {},
  roles: Record<string, string> = { watcher: "observer" },
): Rule[] {
  const k = new ToolClassifier(overrides);
  return [
    new PostureRule(k),
    new RoleRule(k, new RoleMap(roles, DEFAULT_SEQUENCE)),
    new ModeRule(k),
  ];
}

/** One call of each class (by the built-in table). */
export const ONE_OF_EACH: Record<ToolClass, [string, unknown]> = {
  read: ["exec", { command: "ls -la" }],
  write: ["write", { path: "notes.md", content: SECRET }],
  outbound: ["sessions_send", { sessionKey: "agent:x:main", message: SECRET }],
  destructive: ["exec", { command: `rm -rf /tmp/${SECRET}` }],
  external: ["web_fetch", { url: `https://example.com/?k=${SECRET}` }],
};
