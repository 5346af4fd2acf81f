import {
  assertEquals,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "../../support/assert.ts";
import {
  ConfigError,
  configWarnings,
  DEFAULT_CONFIG,
  loadConfig,
  parseConfig,
} from "../../../lib/service/config.ts";
import { tempDir } from "../../support/helpers.ts";

Deno.test("a missing config file gives every default", async () => {
  await using dir = await tempDir();
  const { config, found } = await loadConfig(dir.join("governance", "coordinator.jsonc"));
  assertEquals(found, false);
  assertEquals(config, {
    ...DEFAULT_CONFIG,
    sequence: ["primary", "secondary", "observer"],
    roles: {},
  });
});

Deno.test("JSONC and JSON5 are read: comments, unquoted keys, trailing commas", () => {
  const c = parseConfig(
    `// which agent is which
    {
      sequence: ["Lead", "critic", /* then */ "observer",],
      roles: { "Alice": "lead", bob: "CRITIC" },
      conversationTtlSeconds: 3600,
      maxConversations: 500,
    }`,
    "coordinator.jsonc",
  );
  assertEquals(c.sequence, ["lead", "critic", "observer"]);
  assertEquals(c.roles, { alice: "lead", bob: "critic" });
  assertEquals(c.conversationTtlSeconds, 3600);
  assertEquals(c.maxConversations, 500);
  assertEquals(c.maxPendingViolations, DEFAULT_CONFIG.maxPendingViolations);
});

Deno.test("a syntax error names the file, the line and the column", () => {
  assertThrows(
    () => parseConfig('{\n  sequence: ["a"],\n  roles: { x: }\n}', "gov/coordinator.jsonc"),
    ConfigError,
    "Cannot read config gov/coordinator.jsonc: invalid character '}' at line 3 column 15",
  );
});

Deno.test("wrong types and unknown keys are refused with what to write instead", () => {
  const cases: [string, string][] = [
    ["[]", "must hold an object"],
    ['{ sequnce: ["a"] }', 'unknown key "sequnce"'],
    ["{ sequence: [] }", '"sequence" must be a non-empty list'],
    ['{ sequence: ["a", 3] }', '"sequence[1]" must be a role name'],
    ['{ sequence: ["a", "A"] }', "names a role twice"],
    ['{ roles: ["a"] }', '"roles" must be an object'],
    ['{ roles: { bob: "narrator" } }', '"roles.bob" must be one of the sequence\'s roles'],
    ["{ conversationTtlSeconds: 0 }", '"conversationTtlSeconds" must be a whole number'],
    ['{ maxConversations: "10" }', '"maxConversations" must be a whole number'],
    ["{ maxPendingViolations: 1.5 }", '"maxPendingViolations" must be a whole number'],
  ];
  for (const [text, msg] of cases) {
    assertThrows(() => parseConfig(text, "c.jsonc"), ConfigError, msg);
  }
});

Deno.test("a config that is a symbolic link or not a regular file is refused, naming the file and what to do", async () => {
  await using dir = await tempDir();
  const real = dir.join("elsewhere.jsonc");
  await Deno.writeTextFile(real, "{}");
  const link = dir.join("coordinator.jsonc");
  await Deno.symlink(real, link);
  const err = await assertRejects(() => loadConfig(link), ConfigError);
  assertEquals(
    (err as Error).message,
    `Cannot read config ${link}: it is a symbolic link; put the file itself there`,
  );
  const asDir = dir.join("dir.jsonc");
  await Deno.mkdir(asDir);
  await assertRejects(
    () => loadConfig(asDir),
    ConfigError,
    `Cannot read config ${asDir}: it is not a regular file`,
  );
});

Deno.test("tools maps tool names, lower-cased and trimmed, to valid classes; none by default", () => {
  assertEquals(parseConfig("{}", "c.jsonc").tools, {});
  const c = parseConfig(
    `{ tools: { Deploy: "destructive", " Notify ": "outbound", "my_read": "read",
       w: "write", fetcher: "external" } }`,
    "c.jsonc",
  );
  assertEquals(c.tools, {
    deploy: "destructive",
    notify: "outbound",
    my_read: "read",
    w: "write",
    fetcher: "external",
  });
});

Deno.test("tools refuses an unknown class, naming the key and the valid classes", () => {
  assertThrows(
    () => parseConfig('{ tools: { deploy: "dangerous" } }', "c.jsonc"),
    ConfigError,
    '"tools.deploy" must be one of read, write, outbound, destructive, external',
  );
  for (const bad of ['"READ"', "1", "null", '["read"]', "{}"]) {
    assertThrows(
      () => parseConfig(`{ tools: { deploy: ${bad} } }`, "c.jsonc"),
      ConfigError,
      '"tools.deploy" must be one of read, write, outbound, destructive, external',
    );
  }
});

Deno.test("tools that is not an object, or has an empty tool name, is refused with what to write", () => {
  for (const bad of ['"read"', "[]", "null", "3"]) {
    assertThrows(
      () => parseConfig(`{ tools: ${bad} }`, "c.jsonc"),
      ConfigError,
      '"tools" must be an object of tool name to class, like { "deploy": "destructive" }',
    );
  }
  assertThrows(
    () => parseConfig('{ tools: { " ": "read" } }', "c.jsonc"),
    ConfigError,
    '"tools" has an empty tool name',
  );
});

Deno.test("a sequence role that is not a MO§ES role and that no roles entry maps to is warned about", () => {
  const typo = parseConfig('{ sequence: ["primary", "secondary", "obsrever"] }', "c.jsonc");
  const w = configWarnings(typo);
  assertEquals(w.length, 1);
  assertStringIncludes(w[0]!, '"obsrever" is held by no agent');
  assertEquals(configWarnings(parseConfig("{}", "c.jsonc")), []);
  // A custom role some agent is mapped to is held.
  const mapped = parseConfig(
    '{ sequence: ["lead", "critic"], roles: { ann: "lead", bo: "critic" } }',
    "c.jsonc",
  );
  assertEquals(configWarnings(mapped), []);
  const half = parseConfig('{ sequence: ["lead", "critic"], roles: { ann: "lead" } }', "c.jsonc");
  assertEquals(configWarnings(half).map((s) => s.split('"')[1]), ["critic"]);
});

Deno.test("rules turns rules off by id; an unknown id or a non-boolean is refused", () => {
  assertEquals(parseConfig("{}", "c.jsonc").rules, {});
  assertEquals(parseConfig("{ rules: { audit: false, posture: true } }", "c.jsonc").rules, {
    audit: false,
    posture: true,
  });
  assertThrows(
    () => parseConfig("{ rules: { auditt: false } }", "c.jsonc"),
    ConfigError,
    '"rules.auditt": no such rule; the rules are sequence, posture, role, mode, audit, governance',
  );
  assertThrows(
    () => parseConfig('{ rules: { audit: "off" } }', "c.jsonc"),
    ConfigError,
    '"rules.audit" must be true or false',
  );
});

Deno.test("auditAgents maps agent ids to ledger names; auditSlackSeconds is bounded", () => {
  const c = parseConfig('{ auditAgents: { Main: " alice " }, auditSlackSeconds: 0.5 }', "c");
  assertEquals([c.auditAgents, c.auditSlackSeconds], [{ main: "alice" }, 0.5]);
  assertEquals(parseConfig("{}", "c").auditSlackSeconds, 2);
  assertThrows(
    () => parseConfig('{ auditAgents: { main: "" } }', "c"),
    ConfigError,
    "auditAgents.main",
  );
  assertThrows(() => parseConfig("{ auditSlackSeconds: -1 }", "c"), ConfigError, "from 0 to 3600");
});

Deno.test("drift: defaults, every key settable, and clear errors", () => {
  assertEquals(parseConfig("{}", "c.jsonc").drift, {
    scorer: "tfidf",
    level: "red",
    historyTurns: 20,
    maxHistoryBytes: 131_072,
    maxConversations: 2_000,
    minTerms: 8,
  });
  const c = parseConfig(
    '{ drift: { scorer: "jaccard", level: "orange", historyTurns: 5, maxHistoryBytes: 4096, maxConversations: 10, minTerms: 1 } }',
    "c.jsonc",
  );
  assertEquals(c.drift, {
    scorer: "jaccard",
    level: "orange",
    historyTurns: 5,
    maxHistoryBytes: 4096,
    maxConversations: 10,
    minTerms: 1,
  });
  assertEquals(parseConfig('{ drift: { level: "yellow" } }', "c.jsonc").drift.scorer, "tfidf");
  const cases: [string, string][] = [
    ["{ drift: 1 }", '"drift" must be an object'],
    ["{ drift: { threshold: 40 } }", 'unknown key "drift.threshold"'],
    ['{ drift: { scorer: "bm25" } }', '"drift.scorer" must be one of tfidf, jaccard'],
    ['{ drift: { level: "green" } }', '"drift.level" must be one of yellow, orange, red'],
    ["{ drift: { historyTurns: 0 } }", '"drift.historyTurns" must be a whole number of at least 1'],
    ['{ drift: { maxHistoryBytes: "1k" } }', '"drift.maxHistoryBytes" must be a whole number'],
    ["{ drift: { maxConversations: 2.5 } }", '"drift.maxConversations" must be a whole number'],
    ["{ drift: { minTerms: -1 } }", '"drift.minTerms" must be a whole number'],
  ];
  for (const [text, msg] of cases) {
    assertThrows(() => parseConfig(text, "c.jsonc"), ConfigError, msg);
  }
});

Deno.test("enforce is off by default and takes only a level's name", () => {
  assertEquals(parseConfig("{}", "c").enforce, "off");
  assertEquals(parseConfig('{ "enforce": "abort" }', "c").enforce, "abort");
  assertThrows(
    () => parseConfig('{ "enforce": "block" }', "c"),
    ConfigError,
    '"enforce" must be one of off, prevent, abort',
  );
});
Deno.test("notify is off by default; channel and interval are read", () => {
  assertEquals(parseConfig("{}", "c.jsonc").notify, { channel: "off", intervalSeconds: 300 });
  assertEquals(parseConfig('{ notify: { channel: "question" } }', "c.jsonc").notify, {
    channel: "question",
    intervalSeconds: 300,
  });
  assertEquals(
    parseConfig('{ notify: { channel: "node", intervalSeconds: 60 } }', "c.jsonc").notify,
    { channel: "node", intervalSeconds: 60 },
  );
});

Deno.test("notify refuses what it cannot use, saying what to write instead", () => {
  const cases: [string, string][] = [
    ['{ notify: "question" }', '"notify" must be an object, like { "channel": "question"'],
    ['{ notify: { channel: "email" } }', '"notify.channel" must be one of off, question, node'],
    ["{ notify: { intervalSeconds: 0 } }", '"notify.intervalSeconds" must be a whole number'],
    ["{ notify: { intervalSeconds: 1.5 } }", '"notify.intervalSeconds" must be a whole number'],
    ["{ notify: { intervalSeconds: 100000 } }", "from 1 to 86400"],
    [
      "{ notify: { every: 5 } }",
      'unknown key "notify.every"; the keys are channel, intervalSeconds',
    ],
  ];
  for (const [text, message] of cases) {
    assertThrows(() => parseConfig(text, "c.jsonc"), ConfigError, message);
  }
});
