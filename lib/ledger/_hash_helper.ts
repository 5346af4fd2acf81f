/**
 * A second thread for verify's hashing: the main thread reads and scans the lines and puts
 * each one's canonical form and stated hash in a batch; a worker hashes the batch and sends
 * back only the lines whose hash does not match. Hashing (a `node:crypto` call a line, most
 * of it the call's own cost) was nearly half of verify's time.
 *
 * The worker is started from a `blob:` URL made from the source text of the two functions
 * below, which import nothing but `node:crypto`: it needs neither leave to read a module
 * file nor to import one, so it runs under the coordinator's own permission set too. The
 * batches live in shared memory: none is copied or moved, and when every batch is busy, or
 * the worker is gone, the main thread hashes the batch itself with the same function.
 * @module
 */
import { createHash } from "node:crypto";
import process from "node:process";
import { sha256Hex } from "../util/mod.ts";
import { asciiText } from "./_ids.ts";

/** Returns the lower-case hex SHA-256 of the bytes. */
type HexFn = (data: Uint8Array) => string;

// Per line in a batch's meta: canonical start, end, stated start, end, line number.
const META = 5;
const SLOTS = 8;
const SLOT_BYTES = 256 * 1024;
const SLOT_LINES = 2048;
// The worker's batches over which the process's CPU time is compared with the time passed.
const PROBE_BATCHES = 16;
// Below this many cores' worth of CPU over the probe, the threads take turns on one core.
const MIN_PARALLELISM = 1.4;

/**
 * Hashes each line of a batch; returns the index and computed hash of each line whose
 * stated hash differs, flattened. Runs in the worker from its source text: it must refer
 * to nothing outside itself.
 */
export function hashBatch(hex: HexFn, data: Uint8Array, meta: Int32Array, count: number) {
  const out: (number | string)[] = [];
  for (let i = 0; i < count; i++) {
    const m = i * 5;
    const computed = hex(data.subarray(meta[m]!, meta[m + 1]!));
    const s = meta[m + 2]!;
    let same = meta[m + 3]! - s === computed.length;
    for (let k = 0; same && k < computed.length; k++) {
      same = data[s + k] === computed.charCodeAt(k);
    }
    if (!same) out.push(i, computed);
  }
  return out;
}

interface HelperScope {
  onmessage: ((ev: MessageEvent) => void) | null;
  postMessage(msg: unknown): void;
}

// A batch's state, shared: the thread that moves it out of QUEUED hashes it.
const FREE = 0;
const QUEUED = 1;
// 2: taken by the worker (set only there).
const HERE = 3;

// The worker's body, from its source text like hashBatch. `shared` holds each slot's state,
// then each slot's line count.
function helperMain(scope: HelperScope, batch: typeof hashBatch, hex: HexFn): void {
  let views: { data: Uint8Array; meta: Int32Array }[] = [];
  let shared = new Int32Array(0);
  scope.onmessage = (ev) => {
    const msg = ev.data;
    if (msg.slots) {
      views = msg.slots.map((s: { data: SharedArrayBuffer; meta: SharedArrayBuffer }) => ({
        data: new Uint8Array(s.data),
        meta: new Int32Array(s.meta),
      }));
      shared = new Int32Array(msg.shared);
      return;
    }
    const i = msg.slot;
    // QUEUED to TAKEN; otherwise the main thread took it, or an earlier message for the
    // same slot already hashed this batch.
    if (Atomics.compareExchange(shared, i, 1, 2) !== 1) return;
    const v = views[i]!;
    scope.postMessage({
      slot: i,
      mismatches: batch(hex, v.data, v.meta, shared[views.length + i]!),
    });
  };
}

// Copying a fresh hasher costs less per line than making one (op_node_create_hash was the
// largest part of the one-shot \`hash()\`), about an eighth less a line.
const WORKER_SOURCE = `import { createHash } from "node:crypto";
const fresh = createHash("sha256");
(${helperMain.toString()})(globalThis, ${hashBatch.toString()},
  (d) => fresh.copy().update(d).digest("hex"));
`;

// The same on this thread.
const fresh = createHash("sha256");
const hexHere: HexFn = (d) => fresh.copy().update(d).digest("hex");

/** Receives a line whose stated hash is not the hash of its content. */
export type MismatchFn = (line: number, stated: string, computed: string) => void;

interface Slot {
  index: number;
  data: Uint8Array;
  meta: Int32Array;
  count: number;
  used: number;
  /** Sent to the worker and not yet back. */
  busy: boolean;
}

let liveHelpers = 0;

/** Workers of {@link HashHelper} started and not yet ended (for tests). */
export function liveHashHelpers(): number {
  return liveHelpers;
}

/**
 * Hashes lines on a second thread, or on this one when that one is busy or gone. Results
 * come back out of line order: {@link MismatchFn} is called as they do, and
 * {@link HashHelper.drain} waits for the last one, hashing here whatever the worker has not
 * begun.
 */
export class HashHelper {
  #slots: Slot[] = [];
  #shared: Int32Array;
  #current: Slot;
  #worker: Worker | undefined;
  #url: string | undefined;
  #inFlight = 0;
  #back: (() => void) | undefined;
  readonly #onMismatch: MismatchFn;
  readonly #slotBytes: number;
  readonly #slotLines: number;
  readonly #steal: boolean;
  /** Batches hashed by the worker and on this thread (for tests and the bench). */
  readonly batches = { worker: 0, here: 0 };
  /** CPU time over time passed while the worker hashed its first batches, once measured. */
  parallelism: number | undefined;
  readonly #minParallelism: number;
  #probe: { at: number; cpu: number; batches: number } | undefined;

  /**
   * Starts the worker. For tests: `worker: false` hashes every batch on this thread,
   * `steal: false` leaves every batch sent to the worker there; `slotBytes` and `slotLines`
   * size each batch; below `minParallelism` (see {@link HashHelper.parallelism}) the worker
   * is ended.
   */
  constructor(
    onMismatch: MismatchFn,
    opts: {
      worker?: boolean;
      steal?: boolean;
      slotBytes?: number;
      slotLines?: number;
      minParallelism?: number;
    } = {},
  ) {
    this.#onMismatch = onMismatch;
    this.#steal = opts.steal ?? true;
    this.#minParallelism = opts.minParallelism ?? MIN_PARALLELISM;
    this.#slotBytes = opts.slotBytes ?? SLOT_BYTES;
    this.#slotLines = opts.slotLines ?? SLOT_LINES;
    this.#shared = new Int32Array(new SharedArrayBuffer(SLOTS * 2 * 4));
    for (let i = 0; i < SLOTS; i++) {
      this.#slots.push({
        index: i,
        data: new Uint8Array(new SharedArrayBuffer(this.#slotBytes)),
        meta: new Int32Array(new SharedArrayBuffer(this.#slotLines * META * 4)),
        count: 0,
        used: 0,
        busy: false,
      });
    }
    this.#current = this.#slots[0]!;
    if (opts.worker !== false) this.#start();
  }

  #start(): void {
    try {
      this.#url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "text/javascript" }));
      const worker = new Worker(this.#url, { type: "module" });
      liveHelpers++;
      this.#worker = worker;
      worker.onmessage = (ev: MessageEvent<{ slot: number; mismatches: (number | string)[] }>) =>
        this.#done(this.#slots[ev.data.slot]!, ev.data.mismatches);
      worker.onerror = (ev) => {
        ev.preventDefault();
        this.#stop();
      };
      worker.postMessage({
        slots: this.#slots.map((s) => ({ data: s.data.buffer, meta: s.meta.buffer })),
        shared: this.#shared.buffer,
      });
    } catch {
      // No worker here: this thread hashes every batch.
      this.#stop();
    }
  }

  // Ends the worker; the batches it held are hashed here.
  #stop(): void {
    if (this.#worker) {
      this.#worker.terminate();
      liveHelpers--;
    }
    this.#worker = undefined;
    if (this.#url) URL.revokeObjectURL(this.#url);
    this.#url = undefined;
    for (const slot of this.#slots) if (slot.busy) this.#hashHere(slot);
  }

  /**
   * Queues the line's hash check: `canonical` is hashed and compared with the stated hash
   * `src[start, end)`. Both are copied: the caller may reuse its buffers at once.
   */
  add(line: number, canonical: Uint8Array, src: Uint8Array, start: number, end: number): void {
    const need = canonical.length + (end - start);
    let slot = this.#current;
    if (slot.count === this.#slotLines || slot.used + need > this.#slotBytes) {
      slot = this.#next();
      if (need > this.#slotBytes) {
        // Too long for a batch: hashed here and now.
        const computed = sha256Hex(canonical);
        const stated = src.subarray(start, end);
        if (!sameBytes(stated, computed)) {
          this.#onMismatch(line, asciiText(stated, 0, stated.length), computed);
        }
        return;
      }
    }
    const m = slot.count * META;
    const meta = slot.meta;
    meta[m] = slot.used;
    slot.data.set(canonical, slot.used);
    slot.used += canonical.length;
    meta[m + 1] = slot.used;
    meta[m + 2] = slot.used;
    slot.data.set(src.subarray(start, end), slot.used);
    slot.used += end - start;
    meta[m + 3] = slot.used;
    meta[m + 4] = line;
    slot.count++;
  }

  // Sends the current batch off (or hashes it here when no other is free) and returns an
  // empty one to fill.
  #next(): Slot {
    const full = this.#current;
    const free = this.#worker ? this.#slots.find((s) => s !== full && !s.busy) : undefined;
    if (free === undefined) {
      this.#hashHere(full);
      return full;
    }
    this.#send(full);
    this.#current = free;
    return free;
  }

  #send(slot: Slot): void {
    slot.busy = true;
    this.#inFlight++;
    this.#shared[SLOTS + slot.index] = slot.count;
    Atomics.store(this.#shared, slot.index, QUEUED);
    this.#worker!.postMessage({ slot: slot.index });
  }

  // Hashes a batch here: the one being filled, one the worker has not begun, or any once
  // the worker is gone.
  #hashHere(slot: Slot): void {
    this.#report(slot, hashBatch(hexHere, slot.data, slot.meta, slot.count));
    this.batches.here++;
    this.#free(slot);
  }

  #done(slot: Slot, mismatches: (number | string)[]): void {
    // After the worker was stopped its batches were hashed here.
    if (this.#worker === undefined || !slot.busy) return;
    this.#report(slot, mismatches);
    this.batches.worker++;
    this.#free(slot);
    this.#measure();
  }

  // Whether the two threads run at once is measured, not assumed (the load average may not
  // be readable, and says little about the next second): from the worker's first batch on,
  // the process must use well over one core's time. If it does not, the worker only takes
  // turns with this thread on one core, which costs more than this thread alone: it is ended.
  #measure(): void {
    const cpu = () => {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1000;
    };
    if (this.#probe === undefined) {
      this.#probe = { at: performance.now(), cpu: cpu(), batches: 0 };
      return;
    }
    if (this.parallelism !== undefined || ++this.#probe.batches < PROBE_BATCHES) return;
    const elapsed = performance.now() - this.#probe.at;
    this.parallelism = elapsed > 0 ? (cpu() - this.#probe.cpu) / elapsed : 0;
    if (this.parallelism < this.#minParallelism) this.#stop();
  }

  #report(slot: Slot, mismatches: (number | string)[]): void {
    for (let k = 0; k < mismatches.length; k += 2) {
      const m = (mismatches[k] as number) * META;
      const stated = asciiText(slot.data, slot.meta[m + 2]!, slot.meta[m + 3]!);
      this.#onMismatch(slot.meta[m + 4]!, stated, mismatches[k + 1] as string);
    }
  }

  #free(slot: Slot): void {
    if (slot.busy) this.#inFlight--;
    slot.busy = false;
    slot.count = 0;
    slot.used = 0;
    Atomics.store(this.#shared, slot.index, FREE);
    this.#back?.();
  }

  /** Hashes what is queued and waits for every result; the helper can be used again after. */
  async drain(): Promise<void> {
    if (this.#current.count > 0) this.#next();
    while (this.#inFlight > 0) {
      // What the worker has not begun is hashed here rather than waited for.
      for (const slot of this.#steal ? this.#slots : []) {
        if (
          slot.busy && Atomics.compareExchange(this.#shared, slot.index, QUEUED, HERE) === QUEUED
        ) {
          this.#hashHere(slot);
        }
      }
      if (this.#inFlight === 0) break;
      await new Promise<void>((resolve) => {
        this.#back = () => {
          this.#back = undefined;
          resolve();
        };
      });
    }
  }

  /** Ends the worker; batches still out are hashed here. */
  close(): void {
    this.#stop();
  }
}

function sameBytes(bytes: Uint8Array, text: string): boolean {
  if (bytes.length !== text.length) return false;
  for (let k = 0; k < text.length; k++) if (bytes[k] !== text.charCodeAt(k)) return false;
  return true;
}
