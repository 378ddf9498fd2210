// The source plug-in contract. A source opens its port in start(), delivers
// readings to the sink, and never lets one bad line, frame or unit stop it:
// failures are counted (counters "source.<id>.<what>") and logged rate-limited.

import type { Counters } from '../counters.js';
import type { Logger } from '../log.js';
import type { ReadingSink } from '../reading.js';
import type { Clock } from '../../hal/clock.js';
import type { SerialFactory } from '../../hal/serial.js';

export interface SourceContext {
  serial: SerialFactory;
  clock: Clock;
  log: Logger;
  counters: Counters;
}

export interface SourceHealth {
  /** Port open and the source running. */
  open: boolean;
  /** Wall time (ms) of the last reading delivered, if any. */
  lastReadingAt?: number;
  /** Free-form details for status (per-unit health for Modbus...). */
  detail?: Record<string, unknown>;
  /**
   * Open, and yet not delivering all it is set to, in a few words for status
   * ("unit 2 not answering"). Absent when nothing is wrong.
   */
  problem?: string;
}

export interface Source {
  readonly id: string;
  /**
   * Opens the port and starts delivering. A port that cannot be opened (or
   * goes away later) is retried with backoff while health().open is false:
   * a USB adapter plugged in late must not need a restart. Resolves after the
   * first open attempt either way.
   */
  start(sink: ReadingSink): Promise<void>;
  stop(): Promise<void>;
  health(): SourceHealth;
}
