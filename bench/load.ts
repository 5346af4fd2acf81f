/**
 * End-to-end load benchmark over the legacy protocol: a load gateway in its own process
 * sends pre-built `session_update` frames to the coordinator, run as users run it (its own
 * process, the declared permission set, a temporary state directory as its working
 * directory), and the bench watches the ledger for the durable lines.
 *
 *   deno run -A bench/load.ts [--events N] [--conversations N] [--seconds S] [--rate R]
 *                             [--violations N] [--profile DIR] [--v8-flags FLAGS]
 *   deno task bench --only load [same flags]
 *
 * Four runs:
 *
 * 1. the gateway alone, into a trivial WebSocket sink: it must send faster than the
 *    coordinator consumes, or the figures below would be the gateway's;
 * 2. throughput: `--events` frames (default 1,000,000) over `--conversations` (10,000),
 *    one in ten out of turn, sent as fast as the socket takes them; the clock runs from the
 *    first byte sent to the last violation's line being durable, and the ledger is checked;
 * 3. latency: `--seconds` (20) at `--rate` (1,000) frames/s after a one-second warm-up,
 *    one in ten out of turn; for each violation, frame sent to its ledger line fsynced;
 * 4. the violation path alone: `--violations` (100,000) frames, every one out of turn, as
 *    fast as the socket takes them; violations the coordinator drops (its queue is full)
 *    are reported, not hidden.
 *
 * `bench/load.ts --gateway PLAN` is the gateway process itself (see {@link gatewayMain}).
 * @module
 */
import { writeAll } from "../lib/util/fs.ts";
import { parseArgs } from "node:util";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createHash } from "node:crypto";
import { declaredSet, permissionFlags } from "../lib/service/permissions.ts";
import { v8FlagsArg } from "../lib/service/v8_flags.ts";
import { DEFAULT_SEQUENCE, SequenceEngine } from "../lib/rules/sequence.ts";
import type { StatusReport } from "../lib/service/status.ts";

/** Receives one figure (the row name and its formatted value). */
export type Report = (name: string, value: string) => void;

/** The repository root. */
export const ROOT: string = fileURLToPath(new URL("../", import.meta.url));
const MAIN = join(ROOT, "main.ts");
const THIS_FILE = fileURLToPath(import.meta.url);
const PY_LEDGER = join(ROOT, "tests", "support", "moses_ledger.py");

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Wall-clock time in ms with sub-millisecond resolution, comparable across processes on one
 * machine: each process's `timeOrigin` is read from the same system clock at its start.
 */
export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Formats a number with thousands separators. */
export function fmt(n: number, digits = 0): string {
  return n.toLocaleString("en-US", {
    maximumFractionDigits: digits,
    minimumFractionDigits: digits,
  });
}

/** The value at fraction `p` of an ascending array (nearest rank). */
export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
}

/** Waits `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** `/proc/loadavg`'s three load averages, or "n/a" where there is none. */
export function loadAverage(): string {
  try {
    return Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
  } catch {
    return "n/a";
  }
}

// ---------------------------------------------------------------------------------------
// Plans: what the gateway sends. Built the same way in the bench (to check them against the
// rule) and in the gateway process (to send them), so only the small spec crosses over.

/**
 * What the gateway sends.
 *
 * - `turns`: `events` frames round-robin over `conversations`; each conversation gets blocks
 *   of ten frames, three in-order cycles with one out-of-turn answer slipped in, so exactly
 *   one frame in ten is a violation. The slot of the violation moves from block to block
 *   and from conversation to conversation, so violations are spread evenly over the run
 *   instead of arriving in bursts, and the very last frame is one (its durable line then
 *   means every frame was processed).
 * - `violations`: `events` frames round-robin over `conversations`, every one out of turn
 *   (`secondary` where `primary` is expected, so no state ever moves): the violation path
 *   alone, ledger writes included, at full speed.
 * - `fresh`: segments of new conversations, one in-order `primary` frame each (no
 *   violations): segment `i` has `segments[i]` conversations never seen before.
 */
export type PlanSpec =
  | { kind: "turns" | "violations"; events: number; conversations: number; prefix: string }
  | { kind: "fresh"; segments: number[]; prefix: string };

/** The frames of a plan, in sending order, cut into segments the bench sends one by one. */
export interface PlanFrames {
  frames: string[];
  /** 1 where the frame is out of turn. */
  violation: Uint8Array;
  /** Frames per segment. */
  segments: number[];
}

const CYCLE = ["primary", "secondary", "observer"] as const;

/** Builds a plan's frames (see {@link PlanSpec}). */
export function buildPlan(spec: PlanSpec): PlanFrames {
  const frame = (conversation: string, agent: string) =>
    `{"type":"session_update","session_id":"${conversation}","agent":"${agent}"}`;
  if (spec.kind === "fresh") {
    const total = spec.segments.reduce((a, b) => a + b, 0);
    const frames = new Array<string>(total);
    const width = String(total).length;
    for (let i = 0; i < total; i++) {
      frames[i] = frame(`${spec.prefix}${String(i).padStart(width, "0")}`, "primary");
    }
    return { frames, violation: new Uint8Array(total), segments: [...spec.segments] };
  }
  const { events, conversations } = spec;
  const width = String(conversations - 1).length;
  const ids = Array.from(
    { length: conversations },
    (_, c) => `${spec.prefix}${String(c).padStart(width, "0")}`,
  );
  if (spec.kind === "violations") {
    return {
      frames: Array.from({ length: events }, (_, k) => frame(ids[k % conversations]!, "secondary")),
      violation: new Uint8Array(events).fill(1),
      segments: [events],
    };
  }
  if (events % (conversations * 10) !== 0) {
    throw new RangeError(
      `--events (${events}) must be a multiple of ten times --conversations (${conversations})`,
    );
  }
  const frames = new Array<string>(events);
  const violation = new Uint8Array(events);
  for (let k = 0; k < events; k++) {
    const c = k % conversations;
    const step = (k - c) / conversations;
    const block = Math.floor(step / 10);
    const pos = step % 10;
    // Where in this block the out-of-turn answer goes: 0..9, before the first in-order
    // answer up to after the last; (c + block + 1) puts the stream's last frame at slot 9.
    const slot = (c + block + 1) % 10;
    let agent: string;
    if (pos === slot) {
      // After `slot` in-order answers the conversation has accepted `slot % 3` roles of
      // the cycle: none (primary expected), primary (secondary expected) or primary and
      // secondary (observer expected). Answer with a role that is none of those.
      agent = slot % 3 === 1 ? "observer" : "secondary";
      violation[k] = 1;
    } else {
      agent = CYCLE[(pos < slot ? pos : pos - 1) % 3]!;
    }
    frames[k] = frame(ids[c]!, agent);
  }
  return { frames, violation, segments: [events] };
}

/** Violations the coordinator's own rule finds in `frames` (checks a plan before it is sent). */
export function violationsByRule(plan: PlanFrames): number {
  const engine = new SequenceEngine(DEFAULT_SEQUENCE, {
    ttlMs: 86_400_000,
    maxConversations: 10_000_000,
  });
  let n = 0;
  for (let k = 0; k < plan.frames.length; k++) {
    const f = JSON.parse(plan.frames[k]!);
    const v = engine.observe(f.session_id, f.agent, 1);
    if ((v !== undefined) !== (plan.violation[k] === 1)) {
      throw new Error(`The plan's frame ${k} is not what it was meant to be: ${plan.frames[k]}`);
    }
    if (v !== undefined) n++;
  }
  return n;
}

// ---------------------------------------------------------------------------------------
// The gateway process. A hand-made WebSocket server on a plain TCP listener: the frames are
// encoded to wire bytes before the clock starts, and sending is a loop of large writes that
// the kernel paces (a write waits while the socket buffer is full), so nothing piles up
// and no per-frame work is left on the sending side.

const WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const SEND_CHUNK = 256 * 1024;

/** A plan's frames as server-to-client WebSocket text frames, segment by segment. */
interface WireSegment {
  bytes: Uint8Array;
  /** Byte offset just past each frame. */
  ends: Float64Array;
  /** 1 where the frame is out of turn. */
  violation: Uint8Array;
}

function encodeSegments(plan: PlanFrames): WireSegment[] {
  const out: WireSegment[] = [];
  let first = 0;
  for (const count of plan.segments) {
    let size = 0;
    for (let k = first; k < first + count; k++) size += wireLength(plan.frames[k]!.length);
    const bytes = new Uint8Array(size);
    const ends = new Float64Array(count);
    let off = 0;
    for (let i = 0; i < count; i++) {
      const text = plan.frames[first + i]!;
      // Plans are ASCII: one byte per character.
      const len = text.length;
      bytes[off++] = 0x81; // FIN, text
      if (len < 126) bytes[off++] = len;
      else {
        bytes[off++] = 126;
        bytes[off++] = len >> 8;
        bytes[off++] = len & 0xff;
      }
      off += encoder.encodeInto(text, bytes.subarray(off)).written;
      ends[i] = off;
    }
    out.push({ bytes, ends, violation: plan.violation.slice(first, first + count) });
    first += count;
  }
  return out;
}

function wireLength(len: number): number {
  if (len >= 65_536) throw new RangeError("Plan frames are short");
  return len + (len < 126 ? 2 : 4);
}

/** One client connection of the gateway. */
class WsClient {
  subscribed = false;
  closed = false;
  // Frames the gateway writes itself (pong, close) must not land inside a bulk write.
  #writing: Promise<void> = Promise.resolve();

  constructor(readonly conn: Deno.TcpConn) {}

  write(data: Uint8Array): Promise<void> {
    const p = this.#writing.then(() => writeAll(this.conn, data));
    this.#writing = p.catch(() => {});
    return p;
  }

  /** Completes the opening handshake; returns bytes read past it. */
  async handshake(): Promise<Uint8Array> {
    let buf: Uint8Array = new Uint8Array(0);
    const chunk = new Uint8Array(8192);
    while (true) {
      const n = await this.conn.read(chunk);
      if (n === null) throw new Error("closed during the handshake");
      buf = concat(buf, chunk.subarray(0, n));
      const end = indexOf(buf, [13, 10, 13, 10]);
      if (end < 0) continue;
      const head = decoder.decode(buf.subarray(0, end));
      const key = /^sec-websocket-key:\s*(\S+)\s*$/im.exec(head)?.[1];
      if (key === undefined) {
        await this.write(encoder.encode("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"));
        throw new Error("not a WebSocket upgrade");
      }
      const accept = createHash("sha1").update(key + WS_GUID).digest("base64");
      await this.write(encoder.encode(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
          `Sec-WebSocket-Accept: ${accept}\r\n\r\n`,
      ));
      return buf.subarray(end + 4);
    }
  }

  /** Reads the client's frames until it closes; `onText` gets each text frame. */
  async readFrames(leftover: Uint8Array, onText: (text: string) => void): Promise<void> {
    let buf: Uint8Array = leftover;
    const chunk = new Uint8Array(8192);
    try {
      while (true) {
        // Parse every complete frame in the buffer.
        while (buf.length >= 2) {
          const opcode = buf[0]! & 0x0f;
          const masked = (buf[1]! & 0x80) !== 0;
          let len = buf[1]! & 0x7f;
          let pos = 2;
          if (len === 126) {
            if (buf.length < 4) break;
            len = (buf[2]! << 8) | buf[3]!;
            pos = 4;
          } else if (len === 127) {
            if (buf.length < 10) break;
            len = Number(new DataView(buf.buffer, buf.byteOffset + 2, 8).getBigUint64(0));
            pos = 10;
          }
          const maskAt = pos;
          if (masked) pos += 4;
          if (buf.length < pos + len) break;
          const payload = buf.slice(pos, pos + len);
          if (masked) { for (let i = 0; i < len; i++) payload[i]! ^= buf[maskAt + (i & 3)]!; }
          buf = buf.subarray(pos + len);
          if (opcode === 0x1) onText(decoder.decode(payload));
          else if (opcode === 0x9) await this.write(serverFrame(0xa, payload));
          else if (opcode === 0x8) {
            await this.write(serverFrame(0x8, payload.subarray(0, 2)));
            this.conn.close();
            return;
          }
        }
        const n = await this.conn.read(chunk);
        if (n === null) return;
        buf = concat(buf, chunk.subarray(0, n));
      }
    } catch {
      // Reset by the peer: the connection is over.
    } finally {
      this.closed = true;
    }
  }
}

function serverFrame(opcode: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(2 + payload.length);
  out[0] = 0x80 | opcode;
  out[1] = payload.length;
  out.set(payload, 2);
  return out;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

function indexOf(buf: Uint8Array, seq: number[]): number {
  outer: for (let i = 0; i + seq.length <= buf.length; i++) {
    for (let j = 0; j < seq.length; j++) if (buf[i + j] !== seq[j]) continue outer;
    return i;
  }
  return -1;
}

/** A command from the bench to the gateway process (one JSON line on its stdin). */
type GatewayCommand =
  | { cmd: "send"; segment: number }
  | { cmd: "paced"; segment: number; rate: number }
  | { cmd: "quit" };

/** What the gateway process reports (one JSON line on its stdout). */
export type GatewayEvent =
  | { event: "listening"; port: number; buildMs: number; frames: number; bytes: number }
  | { event: "subscribed"; connections: number }
  | {
    event: "sent";
    segment: number;
    frames: number;
    bytes: number;
    /** Epoch ms ({@link epochMs}) just before the first write and after the last. */
    t0: number;
    t1: number;
    /** Paced sends: for each violation frame in order, when its write started. */
    violationTimes?: number[];
  }
  | { event: "error"; message: string };

/**
 * The gateway process: builds the plan's wire bytes, listens on 127.0.0.1 (a free port),
 * and sends segments to the subscribed client on command. Speaks JSON lines: commands on
 * stdin, {@link GatewayEvent}s on stdout.
 */
export async function gatewayMain(spec: PlanSpec): Promise<void> {
  const say = (e: GatewayEvent) => console.log(JSON.stringify(e));
  const b0 = performance.now();
  const wire = encodeSegments(buildPlan(spec));
  const buildMs = performance.now() - b0;
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let connections = 0;
  let client: WsClient | undefined;
  let subscribed!: () => void;
  let ready = new Promise<void>((r) => (subscribed = r));
  say({
    event: "listening",
    port: listener.addr.port,
    buildMs,
    frames: wire.reduce((a, s) => a + s.ends.length, 0),
    bytes: wire.reduce((a, s) => a + s.bytes.length, 0),
  });
  (async () => {
    for await (const conn of listener) {
      // Small paced writes must leave at once, not wait for Nagle's algorithm.
      conn.setNoDelay(true);
      const c = new WsClient(conn);
      void (async () => {
        try {
          const rest = await c.handshake();
          connections++;
          await c.readFrames(rest, (text) => {
            if (text.includes('"subscribe"') && !c.subscribed) {
              c.subscribed = true;
              client = c;
              say({ event: "subscribed", connections });
              subscribed();
            }
          });
        } catch {
          // A client that never completed the handshake.
        }
        if (client === c) {
          client = undefined;
          ready = new Promise<void>((r) => (subscribed = r));
        }
      })();
    }
  })();

  for await (const line of lines(Deno.stdin.readable)) {
    const cmd = JSON.parse(line) as GatewayCommand;
    if (cmd.cmd === "quit") break;
    await ready;
    const seg = wire[cmd.segment];
    if (seg === undefined || client === undefined) {
      say({ event: "error", message: `no segment ${cmd.segment} or no client` });
      continue;
    }
    try {
      say(
        cmd.cmd === "send" ? await sendBulk(client, seg, cmd.segment) : await sendPaced(
          client,
          seg,
          cmd.segment,
          cmd.rate,
        ),
      );
    } catch (err) {
      say({ event: "error", message: String(err) });
    }
  }
  listener.close();
  client?.conn.close();
  Deno.exit(0);
}

async function sendBulk(c: WsClient, seg: WireSegment, segment: number): Promise<GatewayEvent> {
  const { bytes, ends } = seg;
  const t0 = epochMs();
  // Whole frames per write (so a pong could go between two writes), about SEND_CHUNK each.
  let start = 0;
  let i = 0;
  while (i < ends.length) {
    while (i < ends.length - 1 && ends[i]! - start < SEND_CHUNK) i++;
    const end = ends[i]!;
    await c.write(bytes.subarray(start, end));
    start = end;
    i++;
  }
  const t1 = epochMs();
  return { event: "sent", segment, frames: ends.length, bytes: bytes.length, t0, t1 };
}

async function sendPaced(
  c: WsClient,
  seg: WireSegment,
  segment: number,
  rate: number,
): Promise<GatewayEvent> {
  const { bytes, ends, violation } = seg;
  const n = ends.length;
  const violationTimes: number[] = [];
  const t0 = epochMs();
  let k = 0;
  while (k < n) {
    // Frame k is due at t0 + k / rate; send everything due now in one write.
    const due = Math.min(n, Math.floor(((epochMs() - t0) * rate) / 1000) + 1);
    if (due > k) {
      const start = k === 0 ? 0 : ends[k - 1]!;
      const tw = epochMs();
      for (let i = k; i < due; i++) if (violation[i] === 1) violationTimes.push(tw);
      await c.write(bytes.subarray(start, ends[due - 1]!));
      k = due;
    } else {
      await sleep(Math.max(0, t0 + (k * 1000) / rate - epochMs()));
    }
  }
  const t1 = epochMs();
  return { event: "sent", segment, frames: n, bytes: bytes.length, t0, t1, violationTimes };
}

async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let rest = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    rest += chunk;
    let nl: number;
    while ((nl = rest.indexOf("\n")) >= 0) {
      const line = rest.slice(0, nl).trim();
      rest = rest.slice(nl + 1);
      if (line !== "") yield line;
    }
  }
  if (rest.trim() !== "") yield rest.trim();
}

// ---------------------------------------------------------------------------------------
// The bench's handles on the two processes.

/** The gateway process, seen from the bench. */
export class GatewayProcess {
  readonly #child: Deno.ChildProcess;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  readonly #events: GatewayEvent[] = [];
  #wake: (() => void) | undefined;
  port = 0;
  /** How long building and encoding the plan took in the gateway, in ms. */
  buildMs = 0;
  /** Wire bytes of the whole plan. */
  bytes = 0;
  /** Connections that subscribed so far. */
  connections = 0;

  private constructor(spec: PlanSpec) {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-prompt",
        "--allow-net=127.0.0.1",
        THIS_FILE,
        "--gateway",
        JSON.stringify(spec),
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.#child = child;
    this.#stdin = child.stdin.getWriter();
    void (async () => {
      for await (const line of lines(child.stdout)) {
        const e = JSON.parse(line) as GatewayEvent;
        if (e.event === "subscribed") this.connections = e.connections;
        this.#events.push(e);
        this.#wake?.();
      }
    })();
  }

  /** Starts a gateway process for `spec` and waits until it listens. */
  static async start(spec: PlanSpec): Promise<GatewayProcess> {
    const g = new GatewayProcess(spec);
    const e = await g.next("listening", 300_000);
    if (e.event === "listening") {
      g.port = e.port;
      g.buildMs = e.buildMs;
      g.bytes = e.bytes;
    }
    return g;
  }

  /** The URL clients connect to. */
  get url(): string {
    return `ws://127.0.0.1:${this.port}`;
  }

  /** The next event of kind `kind` (an error event throws). */
  async next(kind: GatewayEvent["event"], timeoutMs: number): Promise<GatewayEvent> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const i = this.#events.findIndex((e) => e.event === kind || e.event === "error");
      if (i >= 0) {
        const [e] = this.#events.splice(i, 1);
        if (e!.event === "error") throw new Error(`load gateway: ${e!.message}`);
        return e!;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`Timed out waiting for the load gateway to report ${kind}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.#wake = () => {
          clearTimeout(t);
          r();
        };
      });
    }
  }

  /** Sends a segment as fast as the socket takes it; resolves when the last byte is written. */
  async send(segment: number): Promise<Extract<GatewayEvent, { event: "sent" }>> {
    await this.#command({ cmd: "send", segment });
    return await this.next("sent", 3_600_000) as Extract<GatewayEvent, { event: "sent" }>;
  }

  /** Sends a segment at `rate` frames/s; resolves when the last frame is written. */
  async paced(segment: number, rate: number): Promise<Extract<GatewayEvent, { event: "sent" }>> {
    await this.#command({ cmd: "paced", segment, rate });
    return await this.next("sent", 3_600_000) as Extract<GatewayEvent, { event: "sent" }>;
  }

  async #command(c: GatewayCommand): Promise<void> {
    await this.#stdin.write(encoder.encode(JSON.stringify(c) + "\n"));
  }

  /** Tells the gateway to quit and waits for it. */
  async stop(): Promise<void> {
    try {
      await this.#command({ cmd: "quit" });
      await this.#stdin.close();
    } catch { /* gone already */ }
    const t = setTimeout(() => {
      try {
        this.#child.kill("SIGKILL");
      } catch { /* gone */ }
    }, 5_000);
    await this.#child.status;
    clearTimeout(t);
  }
}

/** A coordinator process, run as users run it: `main.ts run` in its state directory. */
export class CoordinatorProcess {
  readonly child: Deno.ChildProcess;
  /** The last 16 KiB of its stderr (one line per violation: read on, never kept whole). */
  stderrTail = "";
  /** Bytes it wrote to stderr. */
  stderrBytes = 0;
  readonly #reading: Promise<void>;

  /**
   * Starts it. `flags` go to `deno run` before the permission flags (e.g. `--cpu-prof`);
   * `v8Flags` go after the coordinator's own (lib/service/v8_flags.ts), so they win;
   * `onStdout` receives its stdout (V8's `--trace-gc` prints there; needs `stdbuf`, from
   * GNU coreutils), which is discarded otherwise.
   */
  constructor(
    readonly stateDir: string,
    port: number,
    opts: { flags?: string[]; v8Flags?: string[]; onStdout?: (text: string) => void } = {},
  ) {
    // V8 prints with C stdio, which holds a pipe's output until exit: `stdbuf -oL` (which
    // execs deno in its place, same pid) makes it line-buffered.
    const viaStdbuf = opts.onStdout !== undefined;
    const child = new Deno.Command(viaStdbuf ? "stdbuf" : Deno.execPath(), {
      args: [
        ...(viaStdbuf ? ["-oL", Deno.execPath()] : []),
        "run",
        ...(opts.flags ?? []),
        v8FlagsArg(opts.v8Flags),
        ...permissionFlags(declaredSet(), [`127.0.0.1:${port}`]),
        MAIN,
        "run",
        "--protocol",
        "legacy",
        "--gateway",
        `ws://127.0.0.1:${port}`,
      ],
      cwd: stateDir,
      stdin: "null",
      stdout: opts.onStdout ? "piped" : "null",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    this.child = child;
    if (opts.onStdout) {
      const onStdout = opts.onStdout;
      void (async () => {
        const dec = new TextDecoder();
        for await (const chunk of child.stdout) onStdout(dec.decode(chunk, { stream: true }));
      })();
    }
    // The coordinator logs each violation on stderr with a blocking write: a pipe nobody
    // drains would stall it, so it is read as fast as it comes.
    this.#reading = (async () => {
      const dec = new TextDecoder();
      for await (const chunk of child.stderr) {
        this.stderrBytes += chunk.length;
        this.stderrTail = (this.stderrTail + dec.decode(chunk, { stream: true })).slice(-16_384);
      }
    })();
  }

  /** Its process id. */
  get pid(): number {
    return this.child.pid;
  }

  /** What it last wrote to its status file, or undefined (not yet, or caught mid-rename). */
  async status(): Promise<StatusReport | undefined> {
    try {
      return JSON.parse(
        await Deno.readTextFile(join(this.stateDir, "audits/moses/coordinator/status.json")),
      );
    } catch {
      return undefined;
    }
  }

  /** Sends SIGTERM and waits for the exit code. */
  async stop(): Promise<number> {
    try {
      this.child.kill("SIGTERM");
    } catch { /* gone */ }
    const { code } = await this.child.status;
    await this.#reading;
    return code;
  }
}

/** Makes a temporary OpenClaw state directory with `audits/moses`, and the config if given. */
export async function makeStateDir(config?: Record<string, unknown>): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "moses-bench-state-" });
  await Deno.mkdir(join(dir, "audits", "moses"), { recursive: true, mode: 0o700 });
  if (config !== undefined) {
    await Deno.mkdir(join(dir, "governance"), { recursive: true });
    await Deno.writeTextFile(
      join(dir, "governance", "coordinator.jsonc"),
      JSON.stringify(config, null, 2) + "\n",
    );
  }
  return dir;
}

/** Polls `check` every `everyMs` until it is true; throws with `what` after `timeoutMs`. */
export async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  everyMs = 25,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms: ${what}`);
    await sleep(everyMs);
  }
}

// ---------------------------------------------------------------------------------------
// Following the ledger.

/**
 * Follows the ledger as the coordinator appends to it, and stamps each new line with the
 * time it was known durable: after seeing new bytes it takes a shared `flock` on the
 * ledger. The writer holds its exclusive lock from before the write until after fdatasync,
 * so the shared lock is granted only once the lines are on disk (or later, if the next
 * group has taken the lock meanwhile: then the stamp is late, never early).
 */
class LedgerFollower {
  #file: Deno.FsFile | undefined;
  #offset = 0;
  #partial = "";
  readonly #dec = new TextDecoder();
  #busy: Promise<void> | undefined;
  #again = false;
  /** When each line was seen durable (epoch ms), in ledger order. */
  readonly times: number[] = [];
  /** The lines themselves, when kept. */
  readonly texts: string[] = [];
  /** Lines first seen by the fallback poll rather than a file-system event. */
  seenByPoll = 0;

  constructor(readonly path: string, readonly keepText: boolean) {}

  /** Lines seen so far. */
  get count(): number {
    return this.times.length;
  }

  /** Reads whatever was appended since the last call (calls overlapping one run once more). */
  catchUp(byPoll = false): Promise<void> {
    if (this.#busy) {
      this.#again = true;
      return this.#busy;
    }
    this.#busy = (async () => {
      do {
        this.#again = false;
        await this.#read(byPoll);
      } while (this.#again);
    })().finally(() => (this.#busy = undefined));
    return this.#busy;
  }

  async #read(byPoll: boolean): Promise<void> {
    if (this.#file === undefined) {
      try {
        this.#file = await Deno.open(this.path, { read: true });
      } catch (err) {
        if (err instanceof Deno.errors.NotFound) return;
        throw err;
      }
    }
    const file = this.#file;
    await file.lock(false);
    const t = epochMs();
    let size: number;
    try {
      size = (await file.stat()).size;
    } finally {
      await file.unlock();
    }
    if (size <= this.#offset) return;
    // Reading needs no lock: the bytes below `size` are whole, synced lines.
    const buf = new Uint8Array(size - this.#offset);
    await file.seek(this.#offset, Deno.SeekMode.Start);
    let got = 0;
    while (got < buf.length) {
      const n = await file.read(buf.subarray(got));
      if (n === null) break;
      got += n;
    }
    this.#offset += got;
    const text = this.#partial + this.#dec.decode(buf.subarray(0, got), { stream: true });
    const parts = text.split("\n");
    this.#partial = parts.pop()!;
    for (const line of parts) {
      this.times.push(t);
      if (this.keepText) this.texts.push(line);
    }
    if (byPoll) this.seenByPoll += parts.length;
  }

  close(): void {
    this.#file?.close();
    this.#file = undefined;
  }
}

// ---------------------------------------------------------------------------------------
// The benchmark.

/** Sizes of the load benchmark. */
export interface LoadOptions {
  /** Frames in the throughput run (default 1,000,000). */
  events: number;
  /** Conversations they are spread over (default 10,000). */
  conversations: number;
  /** Length of the paced latency run, after a one-second warm-up (default 20). */
  seconds: number;
  /** Frames per second of the paced run (default 1,000). */
  rate: number;
  /**
   * Frames of the run where every frame is a violation (default 100,000: as many as the
   * coordinator queues by default, so a burst of them is not cut short by drops; 0 skips it).
   */
  violations: number;
  /** A directory for CPU profiles of the coordinator in the throughput runs (none). */
  profile?: string;
  /** V8 flags for the coordinator (comma-separated, as `--v8-flags=` takes them), to try some. */
  v8Flags?: string;
}

/** The sizes. */
export const LOAD_DEFAULTS: Required<Omit<LoadOptions, "profile" | "v8Flags">> = {
  events: 1_000_000,
  conversations: 10_000,
  seconds: 20,
  rate: 1_000,
  violations: 100_000,
};

const note = (msg: string) => console.error(`  [load] ${msg}`);

/** Runs the load runs and reports their figures. */
export async function loadBench(opts: LoadOptions, report: Report): Promise<void> {
  const spec: PlanSpec = {
    kind: "turns",
    events: opts.events,
    conversations: opts.conversations,
    prefix: "load-",
  };
  const expected = violationsByRule(buildPlan(spec));
  if (expected * 10 !== opts.events) throw new Error(`The plan makes ${expected} violations`);
  report(
    `load: plan, frames / conversations / violations (by the rule)`,
    `${fmt(opts.events)} / ${fmt(opts.conversations)} / ${fmt(expected)}`,
  );

  await sinkRun(spec, report);
  const v8 = opts.v8Flags ? opts.v8Flags.split(",") : [];
  report("load: the coordinator's V8 flags", v8FlagsArg(v8));
  // `--profile DIR`: V8's CPU profile of the coordinator, written there when it exits.
  const profiled = opts.profile ? ["--cpu-prof", `--cpu-prof-dir=${opts.profile}`] : [];
  await throughputRun("load", spec, expected, report, profiled, v8);
  await latencyRun(opts, report, v8);
  if (opts.violations > 0) {
    const all: PlanSpec = {
      kind: "violations",
      events: opts.violations,
      conversations: opts.conversations,
      prefix: "all-",
    };
    if (violationsByRule(buildPlan(all)) !== opts.violations) throw new Error("Bad plan");
    await throughputRun("all-violations", all, opts.violations, report, profiled, v8);
  }
}

// 1. The gateway into a sink that only counts frames: the gateway's own ceiling, and what
// receiving frames costs a Deno WebSocket client before any work is done on them.
async function sinkRun(spec: PlanSpec, report: Report): Promise<void> {
  note(`gateway alone into a counting sink (loadavg ${loadAverage()})`);
  const gw = await GatewayProcess.start(spec);
  try {
    const total = spec.kind === "fresh" ? 0 : spec.events;
    let count = 0;
    let last = 0;
    let done!: () => void;
    const finished = new Promise<void>((r) => (done = r));
    const ws = new WebSocket(gw.url);
    ws.onmessage = () => {
      if (++count === total) {
        last = epochMs();
        done();
      }
    };
    await new Promise<void>((resolve, reject) => {
      ws.onopen = () => resolve();
      ws.onerror = () => reject(new Error("the sink could not connect"));
    });
    ws.send(JSON.stringify({ type: "subscribe", events: ["session_update"] }));
    await gw.next("subscribed", 10_000);
    const sent = await gw.send(0);
    await finished;
    ws.close();
    report(
      `load: gateway build + encode of ${fmt(sent.frames)} frames (${
        fmt(gw.bytes / 1e6, 1)
      } MB), s`,
      fmt(gw.buildMs / 1000, 2),
    );
    report(
      "load: gateway -> counting sink (Deno WebSocket client), frames/s",
      fmt(sent.frames / ((last - sent.t0) / 1000)),
    );
  } finally {
    await gw.stop();
  }
}

// 2. Throughput into the coordinator.
async function throughputRun(
  label: string,
  spec: PlanSpec,
  expected: number,
  report: Report,
  flags: string[],
  v8Flags: string[],
): Promise<void> {
  if (spec.kind === "fresh") return;
  note(`${label}: ${fmt(spec.events)} frames (loadavg ${loadAverage()})`);
  report(`${label}: loadavg (1/5/15 min) before`, loadAverage());
  const dir = await makeStateDir();
  const ledger = join(dir, "audits", "moses", "audit_ledger.jsonl");
  const gw = await GatewayProcess.start(spec);
  let coordinator: CoordinatorProcess | undefined;
  try {
    coordinator = new CoordinatorProcess(dir, gw.port, { flags, v8Flags });
    await gw.next("subscribed", 30_000);
    const follower = new LedgerFollower(ledger, false);
    let polling = true;
    // Stamps are accurate to the poll interval (10 ms), small against a run of seconds.
    const poller = (async () => {
      while (polling) {
        await follower.catchUp(true);
        await sleep(10);
      }
    })();
    const statusSamples: { t: number; frames: number; pending: number }[] = [];
    let sampling = true;
    const sampler = (async () => {
      let lastUpdate = "";
      while (sampling) {
        const s = await coordinator!.status();
        if (s && s.updatedAt !== lastUpdate) {
          lastUpdate = s.updatedAt;
          statusSamples.push({
            t: Date.parse(s.updatedAt),
            frames: s.counters.frames,
            pending: s.ledger.pending,
          });
        }
        await sleep(250);
      }
    })();

    const sendP = gw.send(0);
    let lastCount = 0;
    let lastProgress = Date.now();
    // Done when every violation is in the ledger, or when the coordinator says the rest
    // were dropped (its queue holds `maxPendingViolations`; a burst beyond that is counted
    // and dropped) and nothing is waiting.
    let dropped = 0;
    let lastStatusCheck = 0;
    await waitFor(
      "the ledger to reach the expected number of lines",
      async () => {
        if (follower.count >= expected) return true;
        if (follower.count !== lastCount) {
          lastCount = follower.count;
          lastProgress = Date.now();
        } else if (Date.now() - lastProgress > 60_000) {
          throw new Error(
            `No new ledger line for a minute at ${follower.count} lines; coordinator said:\n` +
              coordinator!.stderrTail.slice(-2000),
          );
        }
        if (Date.now() - lastStatusCheck < 500) return false;
        lastStatusCheck = Date.now();
        const s = await coordinator!.status();
        if (s === undefined || s.ledger.dropped === 0 || s.ledger.pending > 0) return false;
        dropped = s.ledger.dropped;
        return s.ledger.written + dropped >= expected && follower.count >= s.ledger.written;
      },
      3_600_000,
      20,
    );
    const sent = await sendP;
    polling = false;
    await poller;
    sampling = false;
    await sampler;
    const lines = follower.count;
    const tEnd = follower.times[lines - 1]!;
    const seconds = (tEnd - sent.t0) / 1000;
    report(`${label}: first frame sent to last violation durable, s`, fmt(seconds, 2));
    // When the lines became durable: with frames arriving faster than lines are written,
    // the writer falls behind while frames flow and catches up after.
    const at = (f: number) =>
      fmt((follower.times[Math.min(lines - 1, Math.floor(lines * f))]! - sent.t0) / 1000, 2);
    report(
      `${label}: first / 25% / 50% / 75% / last line durable after, s`,
      `${at(0)} / ${at(0.25)} / ${at(0.5)} / ${at(0.75)} / ${at(1)}`,
    );
    report(`${label}: events/s (frames processed by the coordinator)`, fmt(spec.events / seconds));
    report(`${label}: durable violations/s`, fmt(lines / seconds));
    // The middle 80 % of lines, without start-up and the last group's tail.
    const a = follower.times[Math.floor(lines * 0.1)]!;
    const b = follower.times[Math.floor(lines * 0.9)]!;
    if (b > a) {
      report(
        `${label}: durable violations/s, steady (10th to 90th percentile line)`,
        fmt((lines * 0.8) / ((b - a) / 1000)),
      );
    }
    report(
      `${label}: gateway finished writing (kernel took the last byte) after, s`,
      fmt((sent.t1 - sent.t0) / 1000, 2),
    );
    if (statusSamples.length >= 2) {
      // Status is rewritten every 2 s: the best two-second window of frames processed.
      let best = 0;
      for (let i = 1; i < statusSamples.length; i++) {
        const d = statusSamples[i]!.t - statusSamples[i - 1]!.t;
        if (d > 0) {
          best = Math.max(
            best,
            ((statusSamples[i]!.frames - statusSamples[i - 1]!.frames) * 1000) / d,
          );
        }
      }
      report(`${label}: events/s, best status interval (~2 s)`, fmt(best));
      report(
        `${label}: most violations waiting to be written (status, every ~2 s)`,
        fmt(Math.max(...statusSamples.map((x) => x.pending))),
      );
    }
    report(`${label}: loadavg (1/5/15 min) after`, loadAverage());
    follower.close();

    const code = await coordinator.stop();
    const status = await coordinator.status();
    coordinator = undefined;
    if (code !== 0) throw new Error(`The coordinator exited ${code}`);
    report(
      `${label}: coordinator status: frames / violations / written / dropped`,
      `${fmt(status?.counters.frames ?? NaN)} / ${fmt(status?.counters.violations ?? NaN)} / ${
        fmt(status?.ledger.written ?? NaN)
      } / ${fmt(status?.ledger.dropped ?? NaN)}`,
    );
    if (dropped > 0) {
      report(
        `${label}: DROPPED by the coordinator (queue over maxPendingViolations)`,
        `${fmt(dropped)} of ${fmt(expected)}`,
      );
    }
    report(`${label}: gateway connections (1 = no reconnect)`, String(gw.connections));
    await checkLedger(
      label,
      dir,
      ledger,
      expected - dropped,
      spec.conversations,
      dropped === 0,
      report,
    );
  } finally {
    await coordinator?.stop();
    await gw.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

// Exactly the expected lines, each a sequence violation, ten per conversation, and a chain
// both verifiers accept.
async function checkLedger(
  label: string,
  dir: string,
  ledger: string,
  expected: number,
  conversations: number,
  even: boolean,
  report: Report,
): Promise<void> {
  const text = await Deno.readTextFile(ledger);
  const lines = text.split("\n");
  if (lines.pop() !== "") throw new Error("The ledger does not end with a newline");
  const per = new Map<string, number>();
  for (const line of lines) {
    const e = JSON.parse(line);
    if (e.action !== "sequence_violation") throw new Error(`Unexpected ledger line: ${line}`);
    const c = e.violation.conversation as string;
    per.set(c, (per.get(c) ?? 0) + 1);
  }
  // With nothing dropped, every conversation has its share; with drops, only the total.
  const shares = [...per.values()].every((n) => n === expected / conversations);
  report(
    `${label}: ledger lines / conversations / each with expected count`,
    `${fmt(lines.length)} / ${fmt(per.size)} / ${even ? (shares ? "yes" : "NO") : "n/a (drops)"}`,
  );
  if (lines.length !== expected || (even && !shares)) {
    throw new Error("The ledger is not what was sent");
  }

  const v = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "verify"],
    cwd: dir,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const out = decoder.decode(v.stdout).trim().split("\n")[0] ?? "";
  report(`${label}: main.ts verify in the state dir`, `exit ${v.code}: ${out}`);
  try {
    const py = await new Deno.Command("python3", { args: [PY_LEDGER, "verify", ledger] }).output();
    report(`${label}: Python reference verifier`, decoder.decode(py.stdout).trim());
  } catch (err) {
    report(`${label}: Python reference verifier`, `did not run (${err})`);
  }
  if (v.code !== 0) throw new Error("The ledger did not verify");
}

// 3. Latency at a steady rate.
async function latencyRun(opts: LoadOptions, report: Report, v8Flags: string[]): Promise<void> {
  // 100 conversations: ten-frame blocks each, as in the throughput plan.
  const conversations = 100;
  const events = Math.round((opts.seconds + 1) * opts.rate / (conversations * 10)) *
    conversations * 10;
  const warmup = Math.round(opts.rate / 10); // the first second's violations
  const spec: PlanSpec = { kind: "turns", events, conversations, prefix: "paced-" };
  note(`latency: ${fmt(events)} frames at ${fmt(opts.rate)}/s (loadavg ${loadAverage()})`);
  report("load: loadavg (1/5/15 min) before the latency run", loadAverage());
  const dir = await makeStateDir();
  const moses = join(dir, "audits", "moses");
  const ledger = join(moses, "audit_ledger.jsonl");
  const gw = await GatewayProcess.start(spec);
  let coordinator: CoordinatorProcess | undefined;
  const watcher = Deno.watchFs(moses, { recursive: false });
  try {
    coordinator = new CoordinatorProcess(dir, gw.port, { v8Flags });
    await gw.next("subscribed", 30_000);
    const follower = new LedgerFollower(ledger, true);
    // The coordinator's other durable writes (status every 2 s, the snapshot 200 ms after a
    // violation and every 5 s: a temporary file, fsync, rename) share the disk and the
    // file system's journal with the ledger: note when they happen, to compare.
    const ownWrites: number[] = [];
    const ownWatcher = Deno.watchFs(join(moses, "coordinator"), { recursive: false });
    const watchingOwn = (async () => {
      for await (const ev of ownWatcher) {
        if (ev.paths.some((p) => p.endsWith(".tmp"))) ownWrites.push(epochMs());
      }
    })();
    // File-system events (inotify on Linux) wake the follower within a fraction of a ms of
    // each write; a slow poll only backs them up, and counts what it finds first.
    const watching = (async () => {
      for await (const ev of watcher) {
        if (ev.paths.some((p) => p.endsWith("audit_ledger.jsonl"))) void follower.catchUp();
      }
    })();
    let polling = true;
    const poller = (async () => {
      while (polling) {
        await sleep(50);
        await follower.catchUp(true);
      }
    })();
    const sent = await gw.paced(0, opts.rate);
    const times = sent.violationTimes ?? [];
    await waitFor("every paced violation in the ledger", () => {
      return follower.count >= times.length;
    }, 60_000);
    polling = false;
    await poller;
    watcher.close();
    await watching;
    ownWatcher.close();
    await watchingOwn;
    follower.close();

    const lat: number[] = [];
    const detect: number[] = [];
    for (let i = warmup; i < times.length; i++) {
      const e = JSON.parse(follower.texts[i]!);
      lat.push(follower.times[i]! - times[i]!);
      // The entry's timestamp is when the coordinator saw the frame (Date.now(), 1 ms).
      detect.push(Date.parse(e.timestamp) - times[i]!);
    }
    // Which of the measured violations had one of the coordinator's other writes under way
    // (an event on its temporary files from 2 ms before the frame to the line's fsync).
    const overlapped: boolean[] = [];
    for (let i = warmup; i < times.length; i++) {
      const from = times[i]! - 2;
      const to = follower.times[i]!;
      overlapped.push(ownWrites.some((t) => t >= from && t <= to));
    }
    const slow = lat.map((l, i) => [l, overlapped[i]] as const).filter(([l]) => l > 5);
    const withOwn = lat.filter((_, i) => overlapped[i]).sort((x, y) => x - y);
    const without = lat.filter((_, i) => !overlapped[i]).sort((x, y) => x - y);
    lat.sort((x, y) => x - y);
    detect.sort((x, y) => x - y);
    const achieved = sent.frames / ((sent.t1 - sent.t0) / 1000);
    report(
      `load: paced run: frames at /s, violations measured (after ${fmt(warmup)} warm-up)`,
      `${fmt(sent.frames)} at ${fmt(achieved)} / ${fmt(lat.length)}`,
    );
    report(
      "load: frame sent -> ledger line fsynced, p50 / p99 / max ms",
      `${fmt(percentile(lat, 0.5), 2)} / ${fmt(percentile(lat, 0.99), 2)} / ${
        fmt(lat[lat.length - 1]!, 2)
      }`,
    );
    report(
      "load: frame sent -> coordinator's timestamp (1 ms clock), p50 / p99 ms",
      `${fmt(percentile(detect, 0.5), 1)} / ${fmt(percentile(detect, 0.99), 1)}`,
    );
    report(
      "load: lines fsynced within 5 ms of their frame",
      `${fmt((100 * lat.filter((l) => l <= 5).length) / lat.length, 1)} %`,
    );
    report(
      "load: over 5 ms / of those, with a status or snapshot write under way",
      `${fmt(slow.length)} / ${fmt(slow.filter(([, o]) => o).length)}`,
    );
    const pq = (xs: number[]) =>
      xs.length === 0
        ? "none"
        : `${fmt(percentile(xs, 0.5), 2)} / ${fmt(percentile(xs, 0.99), 2)} (${fmt(xs.length)})`;
    report("load: latency with such a write under way, p50 / p99 ms (n)", pq(withOwn));
    report("load: latency with none, p50 / p99 ms (n)", pq(without));
    report("load: lines first seen by the 50 ms fallback poll", fmt(follower.seenByPoll));
    report("load: loadavg (1/5/15 min) after the latency run", loadAverage());
    const code = await coordinator.stop();
    coordinator = undefined;
    if (code !== 0) throw new Error(`The coordinator exited ${code}`);
    const lines = (await Deno.readTextFile(ledger)).split("\n").length - 1;
    if (lines !== times.length) {
      throw new Error(`The paced ledger has ${lines} lines, ${times.length} expected`);
    }
  } finally {
    try {
      watcher.close();
    } catch { /* closed */ }
    await coordinator?.stop();
    await gw.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

/** Parsed command-line flags, as `parseArgs` gives them. */
export type FlagValues = Record<string, string | boolean | undefined>;

/** The integer flag `--name` (at least `min`), or `fallback` when it is not given. */
export function intFlag(values: FlagValues, name: string, fallback: number, min = 1): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) {
    throw new RangeError(`--${name} must be a positive integer`);
  }
  return n;
}

/** Parses the load benchmark's flags (the sizes by default). */
export function loadOptions(values: FlagValues): LoadOptions {
  const num = (name: Exclude<keyof LoadOptions, "profile" | "v8Flags">): number =>
    intFlag(values, name, LOAD_DEFAULTS[name], name === "violations" ? 0 : 1);
  return {
    events: num("events"),
    conversations: num("conversations"),
    seconds: num("seconds"),
    rate: num("rate"),
    violations: num("violations"),
    ...(typeof values.profile === "string" ? { profile: values.profile } : {}),
    ...(typeof values["v8-flags"] === "string" ? { v8Flags: values["v8-flags"] } : {}),
  };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      gateway: { type: "string" },
      events: { type: "string" },
      conversations: { type: "string" },
      seconds: { type: "string" },
      rate: { type: "string" },
      violations: { type: "string" },
      profile: { type: "string" },
      "v8-flags": { type: "string" },
    },
  });
  if (values.gateway !== undefined) {
    await gatewayMain(JSON.parse(values.gateway) as PlanSpec);
  } else {
    const report: Report = (name, value) => console.log(`${name.padEnd(72)} ${value}`);
    await loadBench(loadOptions(values), report);
  }
}
