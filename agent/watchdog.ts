// Feeds the service manager's watchdog (hal/watchdog.ts) only while the agent
// makes progress: each ping is earned by a timer that fired (the event loop is
// alive) and a pipeline that is not stuck (agent/progress.ts). When either
// fails, the pings stop and systemd restarts the agent (WatchdogSec=); nothing
// durable is lost by that, and a wedged agent loses everything by staying up.

import type { Clock, Timer } from '../hal/clock.js';
import type { ServiceNotifier } from '../hal/watchdog.js';
import type { Logger } from './log.js';

export interface WatchedPipeline {
  /** Why it is stuck (given how long nothing may move), or undefined while it moves. */
  stalled(limitMs: number): string | undefined;
}

export interface WatchdogDeps {
  notifier: ServiceNotifier;
  clock: Clock;
  log: Logger;
  /** The running pipeline; undefined between two (an over-the-air config swaps it). */
  pipeline(): WatchedPipeline | undefined;
}

/** Starts pinging at the notifier's interval; a no-op when systemd armed no watchdog. */
export function startWatchdog(deps: WatchdogDeps): { stop(): void } {
  const interval = deps.notifier.watchdogIntervalMs;
  const limit = deps.notifier.watchdogTimeoutMs;
  if (interval === undefined || limit === undefined) return { stop() {} };
  let timer: Timer | undefined;
  let stopped = false;
  let gapSince: number | undefined;
  let stuck: string | undefined;

  function problem(): string | undefined {
    const p = deps.pipeline();
    if (p) { gapSince = undefined; return p.stalled(limit!); }
    gapSince ??= deps.clock.monotonic();
    const gap = deps.clock.monotonic() - gapSince;
    return gap > limit! ? `no agent running for ${(gap / 1000).toFixed(1)} s` : undefined;
  }

  function tick(): void {
    if (stopped) return;
    const why = problem();
    if (why === undefined) {
      if (stuck !== undefined) deps.log.info('pipeline moves again: watchdog pings resume');
      deps.notifier.ping();
    } else if (stuck === undefined) {
      deps.log.error('pipeline stuck: watchdog pings stop, the service manager will restart the agent', { cause: why });
    }
    stuck = why;
    timer = deps.clock.setTimeout(tick, interval!);
  }

  deps.log.info('watchdog armed', { interval_ms: interval, stall_limit_ms: limit });
  tick();
  return { stop() { stopped = true; timer?.cancel(); } };
}
