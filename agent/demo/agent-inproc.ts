// The demo's agent in the demo's own process, on simulated ports: the fallback
// when socat is missing (a child process cannot open an in-process port).
// Same config, same agent; only `k` (kill -9) needs the agent process.

import { createSystemClock } from '../../hal/clock.js';
import { nodeFileSystem } from '../../hal/file-node.js';
import type { SerialFactory } from '../../hal/serial.js';
import { createAgent, type Agent } from '../agent.js';
import { validateConfig } from '../config/load.js';
import type { Logger } from '../log.js';
import type { AgentHost } from './agent-host.js';

export function createInProcessAgent(o: { config: Record<string, unknown>; serial: SerialFactory; log: Logger }): AgentHost {
  const resolved = validateConfig(o.config);
  if (!resolved.ok) throw new Error(`demo config invalid: ${resolved.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
  const agent: Agent = createAgent(resolved.config, {
    serial: o.serial, clock: createSystemClock('auto'), fs: nodeFileSystem, log: o.log,
  });
  return {
    kind: 'in-process',
    pid: process.pid,
    async start() { await agent.start(); },
    status: () => ({ status: agent.status(), ageMs: 0 }),
    stop: () => agent.stop(),
  };
}
