/**
 * `release`: gives every session the coordinator made read-only its mode back, with the
 * daemon stopped (uninstall runs it after stopping the service). Connects with operator.write,
 * gives back what the snapshot records, and keeps in the record only what could not be.
 * @module
 */
import {
  FrameSocket,
  loadOrCreateIdentity,
  OpenClawConnection,
  resolveToken,
} from "../../gateway/mod.ts";
import { errorText } from "../../util/mod.ts";
import { VERSION } from "../../version.ts";
import {
  ADMIN_SCOPE,
  covers,
  type LockedSession,
  Prevention,
  READ_SCOPE,
  WRITE_SCOPE,
} from "../enforce/mod.ts";
import { EXIT_FAILURE, EXIT_OK } from "../../util/mod.ts";
import type { Logger } from "../log.ts";
import type { Paths } from "../../util/mod.ts";
import { loadSnapshot, replacePrevented } from "../snapshot.ts";
import { type InstanceLock, takeInstanceLock } from "./instance_lock.ts";

/** What `release` needs. */
export interface ReleaseOptions {
  /** The coordinator's files. */
  paths: Paths;
  /** The gateway's WebSocket URL. */
  gateway: string;
  /** Where it says what it did. */
  logger: Logger;
}

/** Gives back every session recorded as made read-only; returns the exit code. */
export async function releaseSessions(opts: ReleaseOptions): Promise<number> {
  const { paths, logger } = opts;
  let lock: InstanceLock;
  try {
    lock = await takeInstanceLock(paths.lock, {
      pid: Deno.pid,
      startedAt: new Date().toISOString(),
    });
  } catch (err) {
    logger.error(errorText(err));
    return EXIT_FAILURE;
  }
  try {
    const loaded = await loadSnapshot(paths.snapshot, Date.now());
    if (loaded.error !== undefined) {
      logger.error(`${loaded.error}; nothing given back`);
      return EXIT_FAILURE;
    }
    const recorded = loaded.snapshot?.prevented ?? [];
    if (recorded.length === 0) {
      logger.info("no session to give back");
      return EXIT_OK;
    }
    return await giveBack(opts, recorded);
  } catch (err) {
    logger.error(`Cannot give sessions back: ${errorText(err)}; run release again`);
    return EXIT_FAILURE;
  } finally {
    lock.release();
  }
}

async function giveBack(opts: ReleaseOptions, recorded: LockedSession[]): Promise<number> {
  const { paths, logger } = opts;
  const token = await resolveToken(paths.openclawConfig);
  const { identity } = await loadOrCreateIdentity(paths.device);
  const socket = await FrameSocket.open(opts.gateway, 10_000);
  try {
    const conn = await OpenClawConnection.connect(socket, {
      identity,
      token: token.token,
      useDeviceToken: false,
      scopes: [READ_SCOPE, WRITE_SCOPE],
      version: VERSION,
      platform: Deno.build.os,
      timeoutMs: 10_000,
    });
    const scopes = conn.hello.scopes;
    if (!covers(scopes, WRITE_SCOPE)) {
      logger.error(
        `Cannot give sessions back: the gateway did not grant ${WRITE_SCOPE}; approve the ` +
          "coordinator's device for it on the gateway, then run release again",
        { sessions: recorded.length },
      );
      return EXIT_FAILURE;
    }
    const prevention: Prevention = new Prevention({
      rules: () => ({
        enforcing: false,
        scout: false,
        governed: () => false,
        observer: () => false,
      }),
      mayPatch: () => true,
      admin: () => covers(scopes, ADMIN_SCOPE),
      // Each restore is recorded as under way before it is sent, and its result after.
      save: async () => {
        try {
          await replacePrevented(paths.snapshot, prevention.snapshot());
          return true;
        } catch (err) {
          logger.warn(`Cannot write the record to ${paths.snapshot}: ${errorText(err)}`);
          return false;
        }
      },
      logger,
    });
    prevention.restore(recorded);
    await prevention.connection({ scopes, request: (m, p, t) => conn.request(m, p, t) });
    const left = prevention.snapshot();
    await replacePrevented(paths.snapshot, left);
    if (left.length > 0) {
      logger.error("some sessions could not be given back; they stay recorded", {
        sessions: left.map((l) => l.key).join(","),
      });
      return EXIT_FAILURE;
    }
    logger.info("every session given back", { sessions: recorded.length });
    return EXIT_OK;
  } finally {
    socket.close();
  }
}
