// Health watch for an applied over-the-air config: polls the new Agent's
// health until it is healthy or the deadline passes. stop() ends a wait at
// once (a runtime that stops does not wait out a health check).

import type { Clock } from '../../hal/clock.js';
import type { AgentHealth } from '../agent-api.js';
import type { Part } from './part.js';

const HEALTH_POLL_MS = 100;

export interface HealthWatch extends Part {
  readonly timeoutMs: number;
  /** Undefined once `agent` is healthy; else the problems at the deadline, in words ('stopping' after stop()). */
  wait(agent: { health(): AgentHealth }): Promise<string | undefined>;
}

export function createHealthWatch(timeoutMs: number, deps: { clock: Clock }): HealthWatch {
  const { clock } = deps;
  let stopped = false;
  let wake: (() => void) | undefined;
  return {
    name: 'health-watch',
    timeoutMs,
    start() {},
    stop() { stopped = true; wake?.(); },
    async wait(agent) {
      const deadline = clock.monotonic() + timeoutMs;
      for (;;) {
        const h = agent.health();
        if (h.ok) return undefined;
        if (stopped) return 'stopping';
        if (clock.monotonic() >= deadline) return h.problems.join('; ');
        await new Promise<void>((r) => {
          wake = r;
          void clock.sleep(HEALTH_POLL_MS).then(r);
        });
        wake = undefined;
      }
    },
  };
}
