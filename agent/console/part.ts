// Builds the console part for a config that has `console`: its own port
// (opened read-write: the console answers on it) and the views of whichever
// Agent runs. Used by the runtime (`tapwire run`) and the demo.

import type { Clock } from '../../hal/clock.js';
import type { SerialFactory } from '../../hal/serial.js';
import type { Agent } from '../agent.js';
import type { ResolvedConfig } from '../config/load.js';
import type { Counters } from '../counters.js';
import type { Logger } from '../log.js';
import { createConsole, type ConsolePart } from './console.js';
import type { LogRing } from './log-ring.js';
import type { AgentObservers } from './observers.js';
import { createConsoleViews } from './views.js';

export interface ConsolePartDeps {
  serial: SerialFactory;
  clock: Clock;
  log: Logger;
  counters: Counters;
  /** The Agent running now. */
  agent(): Agent | undefined;
  observers: AgentObservers;
  logRing?: LogRing;
}

/** The console part for `config.console`, or undefined when the config has none. */
export function consolePartFor(config: Pick<ResolvedConfig, 'device' | 'console'>, deps: ConsolePartDeps): ConsolePart | undefined {
  const c = config.console;
  if (!c) return undefined;
  const { path, baudRate, dataBits, stopBits, parity } = c.port;
  return createConsole({
    port: deps.serial.openReadWrite({ path, baudRate, dataBits, stopBits, parity }),
    baudRate,
    views: createConsoleViews({ device: config.device, agent: deps.agent, observers: deps.observers, ...(deps.logRing ? { logRing: deps.logRing } : {}) }),
    clock: deps.clock,
    log: deps.log,
    counters: deps.counters,
  });
}
