// Status messages: <prefix>/<dev>/status, retained, QoS 1, signed
// {"v":1,"dev","state","since","counters"}. "online" on connect and every
// intervalMs while up; "offline" on a clean stop and as the last will (signed
// at connect time: the last thing a connection vouches for).

import type { Clock } from '../../hal/clock.js';
import type { Counters } from '../counters.js';
import type { Logger } from '../log.js';
import { errorText } from './mqtt-errors.js';
import type { Conn } from './types.js';

export type StatusState = 'online' | 'offline';

export interface StatusMessagesOptions {
  device: string;
  topic: string;
  intervalMs: number;
  /** Signs a status object as COSE_Sign1 with the device key. */
  sign(status: Record<string, unknown>): Uint8Array;
  /** Counters to include in status. */
  counters(): Record<string, number>;
  clock: Clock;
  log: Logger;
  stats: Counters;
}

export interface StatusMessages {
  /** The signed payload (for the last will); throws if signing fails. */
  payload(state: StatusState, since: number): Buffer;
  /** Publishes one status on `conn`; resolves when PUBACKed or failed (never rejects). */
  publish(conn: Conn, state: StatusState, since: number): Promise<void>;
  /** Publishes "online" at once and again every intervalMs while `conn` is up (conn.statusTimer). */
  keepOnline(conn: Conn): void;
}

export function createStatusMessages(o: StatusMessagesOptions): StatusMessages {
  function payload(state: StatusState, since: number): Buffer {
    const signed = o.sign({ v: 1, dev: o.device, state, since, counters: o.counters() });
    return Buffer.from(signed.buffer, signed.byteOffset, signed.byteLength);
  }

  function publish(conn: Conn, state: StatusState, since: number): Promise<void> {
    return new Promise((resolve) => {
      let bytes: Buffer;
      try {
        bytes = payload(state, since);
      } catch (err) {
        o.log.error('status signing failed', { error: errorText(err) });
        resolve();
        return;
      }
      conn.client.publish(o.topic, bytes, { qos: 1, retain: true }, (err) => {
        if (err) o.log.warn('status publish failed', { state, error: errorText(err) });
        else o.stats.inc('uplink.status_published');
        resolve();
      });
    });
  }

  function refresh(conn: Conn): void {
    conn.statusTimer = o.clock.setTimeout(() => {
      if (conn.phase !== 'up') return;
      void publish(conn, 'online', conn.since);
      refresh(conn);
    }, o.intervalMs);
  }

  return {
    payload,
    publish,
    keepOnline(conn) {
      void publish(conn, 'online', conn.since);
      refresh(conn);
    },
  };
}
