/**
 * A scripted OpenAI-compatible model on loopback, for real OpenClaw agent runs in tests.
 * It speaks `/v1/chat/completions` with SSE streaming and decides each reply from the
 * conversation it is sent:
 * - after a tool result (the last message has role `tool`): the text `done`;
 * - a user message holding `CALL <tool> <json args>`: one call of that tool;
 * - `SLOW <n>`: n chunks of text, one every 250 ms (a run that stays open);
 * - `SAY <text>`: the text (the rest of the line: OpenClaw appends its runtime context to a
 *   session's first message);
 * - anything else: the text `ok`.
 */

/** One reply of the model. */
export type ModelReply =
  | { text: string }
  | { tool: string; args: Record<string, unknown> }
  | { slow: number; everyMs?: number };

/** What the script sees of a request. */
export interface ModelRequest {
  /** The last message's role. */
  lastRole: string;
  /** The text of the last user message. */
  lastUser: string;
  /** The tool names offered to the model. */
  tools: string[];
}

/** Decides a reply; the default follows the conventions above. */
export type ModelScript = (req: ModelRequest) => ModelReply;

/** The conventions in the module's description. */
export const defaultScript: ModelScript = (req) => {
  if (req.lastRole === "tool") return { text: "done" };
  const call = /CALL (\S+) (\{.*\})/s.exec(req.lastUser);
  if (call) return { tool: call[1]!, args: JSON.parse(call[2]!) };
  const slow = /SLOW (\d+)/.exec(req.lastUser);
  if (slow) return { slow: Number(slow[1]) };
  const say = /SAY ([^\n]+)/.exec(req.lastUser);
  if (say) return { text: say[1]!.trim() };
  return { text: "ok" };
};

/** A running scripted model. */
export class ModelServer {
  /** Requests served so far. */
  requests = 0;
  /** Tool names offered in the last request. */
  lastTools: string[] = [];
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  #calls = 0;

  private constructor(script: ModelScript) {
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (req) => this.#handle(req, script),
    );
  }

  /** Starts a server on a free loopback port. */
  static start(script: ModelScript = defaultScript): ModelServer {
    return new ModelServer(script);
  }

  /** The port it listens on. */
  get port(): number {
    return this.#server.addr.port;
  }

  /** The `models.providers.<id>` entry for openclaw.json, with one model `m1`. */
  provider(): Record<string, unknown> {
    return {
      baseUrl: `http://127.0.0.1:${this.port}/v1`,
      apiKey: "scripted",
      api: "openai-completions",
      timeoutSeconds: 60,
      models: [{
        id: "m1",
        name: "Scripted",
        reasoning: false,
        input: ["text"],
        cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
        contextWindow: 128000,
        maxTokens: 4096,
      }],
    };
  }

  /** Stops the server. */
  async stop(): Promise<void> {
    await this.#server.shutdown();
  }

  async #handle(req: Request, script: ModelScript): Promise<Response> {
    const url = new URL(req.url);
    if (req.method === "GET" && url.pathname.endsWith("/models")) {
      return Response.json({ object: "list", data: [{ id: "m1", object: "model" }] });
    }
    if (req.method !== "POST" || !url.pathname.endsWith("/chat/completions")) {
      return new Response("not found", { status: 404 });
    }
    const body = await req.json() as {
      messages?: { role?: string; content?: unknown }[];
      tools?: { function?: { name?: string } }[];
    };
    this.requests++;
    const messages = body.messages ?? [];
    this.lastTools = (body.tools ?? []).map((t) => t.function?.name ?? "").filter(Boolean);
    // OpenClaw adds its own context as user messages after the person's and after tool
    // results: those are not the conversation.
    const real = messages.filter((m) =>
      !(m.role === "user" && textOf(m.content).startsWith("<<<BEGIN_OPENCLAW_INTERNAL_CONTEXT"))
    );
    const lastUser = real.findLast((m) => m.role === "user");
    const reply = script({
      lastRole: real.at(-1)?.role ?? "",
      lastUser: textOf(lastUser?.content),
      tools: this.lastTools,
    });
    return new Response(this.#stream(reply), {
      headers: { "content-type": "text/event-stream", "cache-control": "no-cache" },
    });
  }

  #stream(reply: ModelReply): ReadableStream<Uint8Array> {
    const enc = new TextEncoder();
    const id = `chatcmpl-${crypto.randomUUID()}`;
    const chunk = (delta: Record<string, unknown>, finish: string | null) =>
      enc.encode(
        `data: ${
          JSON.stringify({
            id,
            object: "chat.completion.chunk",
            created: Math.floor(Date.now() / 1000),
            model: "m1",
            choices: [{ index: 0, delta, finish_reason: finish }],
          })
        }\n\n`,
      );
    const done = enc.encode("data: [DONE]\n\n");
    const callId = `call_${++this.#calls}`;
    return new ReadableStream({
      async start(c) {
        c.enqueue(chunk({ role: "assistant", content: "" }, null));
        if ("tool" in reply) {
          c.enqueue(chunk({
            tool_calls: [{
              index: 0,
              id: callId,
              type: "function",
              function: { name: reply.tool, arguments: JSON.stringify(reply.args) },
            }],
          }, null));
          c.enqueue(chunk({}, "tool_calls"));
        } else if ("slow" in reply) {
          for (let i = 0; i < reply.slow; i++) {
            c.enqueue(chunk({ content: `part ${i} ` }, null));
            await new Promise((r) => setTimeout(r, reply.everyMs ?? 250));
          }
          c.enqueue(chunk({}, "stop"));
        } else {
          c.enqueue(chunk({ content: reply.text }, null));
          c.enqueue(chunk({}, "stop"));
        }
        c.enqueue(done);
        c.close();
      },
    });
  }
}

function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    return content.map((p) => typeof p?.text === "string" ? p.text : "").join("\n");
  }
  return "";
}
