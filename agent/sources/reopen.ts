// Keeps a serial port open: opens it, and when it fails to open or goes away
// (unplugged adapter, flapping RS-485 converter) retries with capped
// exponential backoff until stopped. Every attempt and loss is logged.

import type { Clock, Timer } from '../../hal/clock.js';
import type { Handback, ReadOnlyPort } from '../../hal/serial.js';
import type { Counters } from '../counters.js';
import type { Logger } from '../log.js';

export interface PortKeeper {
  /** First open attempt; resolves whether or not it succeeded. */
  start(): Promise<void>;
  /** Closes the port; `handback` goes to the port (see Handback). */
  stop(handback?: Handback): Promise<void>;
  readonly isOpen: boolean;
}

export interface PortKeeperOptions {
  counterPrefix: string;
  initialRetryMs?: number;
  maxRetryMs?: number;
  /** Called after every successful (re)open. */
  onOpen?: () => void;
}

export function createPortKeeper(
  port: ReadOnlyPort,
  opts: PortKeeperOptions,
  deps: { clock: Clock; log: Logger; counters: Counters },
): PortKeeper {
  const initial = opts.initialRetryMs ?? 1000;
  const max = opts.maxRetryMs ?? 30_000;
  let delay = initial;
  let stopped = true;
  let timer: Timer | undefined;

  const schedule = (): void => {
    if (stopped) return;
    deps.log.info('retrying port', { path: port.path, in_ms: delay });
    timer = deps.clock.setTimeout(() => { timer = undefined; void attempt(); }, delay);
    delay = Math.min(max, delay * 2);
  };

  const attempt = async (): Promise<void> => {
    if (stopped) return;
    try {
      await port.open();
      if (stopped) { await port.close(); return; }
      delay = initial;
      deps.log.info('port open', { path: port.path });
      opts.onOpen?.();
    } catch (err) {
      deps.counters.inc(`${opts.counterPrefix}.open_failures`);
      deps.log.error('cannot open port', { path: port.path, cause: (err as Error).message });
      schedule();
    }
  };

  port.onClose((err) => {
    if (stopped || !err) return;
    deps.counters.inc(`${opts.counterPrefix}.port_lost`);
    deps.log.warn('port lost', { path: port.path, cause: err.message });
    schedule();
  });

  return {
    get isOpen() { return port.isOpen; },
    async start() { stopped = false; delay = initial; await attempt(); },
    async stop(handback) {
      stopped = true;
      timer?.cancel();
      timer = undefined;
      await port.close(handback);
    },
  };
}
