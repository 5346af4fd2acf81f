/**
 * The daemon (`run`) and its parts: preflight and the one-instance lock, the governance
 * source, the OpenClaw source, the findings output, the state persister, the status model and
 * file, the log policy and the process handlers. Other modules use only {@link runDaemon}.
 * @module
 */
export { runDaemon, type RunOptions } from "./daemon.ts";
export { daemonLiveness } from "./instance_lock.ts";
export { type ReleaseOptions, releaseSessions } from "./release.ts";
