// The service manager boundary (systemd's sd_notify protocol): "ready", "still
// alive" (the watchdog ping) and "stopping". Node cannot send a unix datagram
// without a native addon, so the real one runs the `systemd-notify` binary; its
// message comes from a child pid, which systemd accepts with NotifyAccess=all
// (build/tapwire.service). systemd-notify waits until the manager has read the
// message (sd_notify_barrier), so the child's pid is still known to it.
// Invariants: without NOTIFY_SOCKET nothing is ever sent; the watchdog is armed
// only when WATCHDOG_USEC is set and WATCHDOG_PID (if set) is this process;
// at most one systemd-notify runs at a time (messages waiting meanwhile are
// merged into its successor, a ping never queues behind another ping).

import { execFile } from 'node:child_process';

/** Where a notifier tells that sending fails or works again (the agent's Logger fits). */
export interface NotifyLog {
  warn(msg: string, fields?: Record<string, string>): void;
  info(msg: string, fields?: Record<string, string>): void;
}

export interface ServiceNotifier {
  /** How often the manager wants a ping (half of WATCHDOG_USEC, per sd_watchdog_enabled(3)); undefined: no watchdog. */
  readonly watchdogIntervalMs: number | undefined;
  /** The whole watchdog timeout (WATCHDOG_USEC) in ms; undefined: no watchdog. */
  readonly watchdogTimeoutMs: number | undefined;
  /** READY=1: start-up is done (systemd's Type=notify waits for this). */
  ready(): void;
  /** WATCHDOG=1: the service is alive and making progress. */
  ping(): void;
  /** STOPPING=1: a clean stop has begun. */
  stopping(): void;
  /** Resolves when no message is being sent or waiting (tests, shutdown). */
  idle(): Promise<void>;
}

/** Runs `systemd-notify <assignments…>` with NOTIFY_SOCKET set; resolves with the error, if any. */
export type NotifyRunner = (assignments: string[], notifySocket: string) => Promise<Error | undefined>;

const runSystemdNotify: NotifyRunner = (assignments, notifySocket) => new Promise((resolve) => {
  execFile('systemd-notify', assignments, { env: { ...process.env, NOTIFY_SOCKET: notifySocket }, timeout: 10_000 }, (err, _stdout, stderr) => {
    resolve(err ? new Error(`${err.message.split('\n')[0]}${stderr.trim() ? `: ${stderr.trim()}` : ''}`) : undefined);
  });
});

export interface SystemdNotifierDeps {
  env: Record<string, string | undefined>;
  pid: number;
  log: NotifyLog;
  run?: NotifyRunner;
}

/** The watchdog timeout for this process from WATCHDOG_USEC / WATCHDOG_PID, in ms; undefined when not armed for us. */
function watchdogTimeout(env: Record<string, string | undefined>, pid: number): number | undefined {
  const usec = Number(env.WATCHDOG_USEC);
  if (!env.WATCHDOG_USEC || !Number.isSafeInteger(usec) || usec <= 0) return undefined;
  if (env.WATCHDOG_PID !== undefined && env.WATCHDOG_PID !== String(pid)) return undefined; // meant for another process
  return usec / 1000;
}

export function createSystemdNotifier(deps: SystemdNotifierDeps): ServiceNotifier {
  const socket = deps.env.NOTIFY_SOCKET || undefined;
  const timeoutMs = socket ? watchdogTimeout(deps.env, deps.pid) : undefined;
  const run = deps.run ?? runSystemdNotify;
  const waiting: string[] = [];
  let sending: Promise<void> | undefined;
  let failing = false;

  function send(assignment: string): void {
    if (!socket) return;
    if (!waiting.includes(assignment)) waiting.push(assignment);
    if (!sending) sending = drain(socket);
  }

  async function drain(to: string): Promise<void> {
    while (waiting.length > 0) {
      const batch = waiting.splice(0);
      const err = await run(batch, to);
      if (err && !failing) deps.log.warn('cannot notify the service manager (systemd-notify)', { message: batch.join(' '), cause: err.message });
      else if (!err && failing) deps.log.info('service manager notifications work again');
      failing = err !== undefined;
    }
    sending = undefined;
  }

  return {
    watchdogIntervalMs: timeoutMs === undefined ? undefined : timeoutMs / 2,
    watchdogTimeoutMs: timeoutMs,
    ready: () => send('READY=1'),
    ping: () => send('WATCHDOG=1'),
    stopping: () => send('STOPPING=1'),
    async idle() { while (sending) await sending; },
  };
}

/** A notifier double: records what would have been sent; `intervalMs` arms its watchdog. */
export function createNotifierDouble(intervalMs?: number): ServiceNotifier & { readonly sent: string[] } {
  const sent: string[] = [];
  return {
    sent,
    watchdogIntervalMs: intervalMs,
    watchdogTimeoutMs: intervalMs === undefined ? undefined : intervalMs * 2,
    ready: () => { sent.push('READY=1'); },
    ping: () => { sent.push('WATCHDOG=1'); },
    stopping: () => { sent.push('STOPPING=1'); },
    idle: async () => undefined,
  };
}
