/**
 * A stand-in for the human's screen: an operator client with only `operator.read` and
 * `operator.questions` (what the Control UI's question page needs) that keeps every question
 * shown to operators, and wakes waiters as each comes.
 */
import { generateIdentity } from "../../lib/gateway/openclaw/device_identity.ts";
import { OpenClawConnection } from "../../lib/gateway/openclaw/connection.ts";
import { FrameSocket } from "../../lib/gateway/socket.ts";
import type { OpenClawGateway } from "./openclaw_gateway.ts";

/** One question as an operator's screen receives it. */
export interface ShownQuestion {
  /** The question request's id. */
  id: string;
  /** The question's text. */
  text: string;
  /** Its header (at most 12 characters). */
  header: string;
  /** When it came (performance.now()). */
  at: number;
}

/** An operator client that keeps every `question.requested`. */
export class QuestionWatcher {
  /** The questions received, in order. */
  readonly questions: ShownQuestion[] = [];
  readonly #waiters = new Set<() => void>();

  private constructor(readonly conn: OpenClawConnection) {
    conn.onEvent = (f) => {
      if (f.event !== "question.requested") return;
      const p = f.payload as { id: string; questions: { question: string; header: string }[] };
      const at = performance.now();
      for (const q of p.questions) {
        this.questions.push({ id: p.id, text: q.question, header: q.header, at });
      }
      for (const w of this.#waiters) w();
    };
  }

  /** Connects to `gw` with its own new device. */
  static async connect(gw: OpenClawGateway): Promise<QuestionWatcher> {
    const socket = await FrameSocket.open(gw.url, 10_000);
    const conn = await OpenClawConnection.connect(socket, {
      identity: await generateIdentity(),
      token: gw.token,
      useDeviceToken: false,
      scopes: ["operator.read", "operator.questions"],
      version: "test",
      platform: "linux",
      timeoutMs: 10_000,
    });
    return new QuestionWatcher(conn);
  }

  /** Resolves once `n` questions have come (woken by each, never polled). */
  until(n: number, timeoutMs = 60_000): Promise<void> {
    if (this.questions.length >= n) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`${this.questions.length} of ${n} questions came in ${timeoutMs} ms`));
      }, timeoutMs);
      const check = () => {
        if (this.questions.length < n) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve();
      };
      this.#waiters.add(check);
    });
  }

  /** Closes the connection. */
  close(): void {
    this.conn.close();
  }
}
