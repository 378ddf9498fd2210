// Key rotation watch: `tapwire key rotate` leaves device.key.next; on each
// tick the part looks for it and rolls over in the append chain, so no batch
// is being signed meanwhile, after a journal sync, so the rollover seq
// follows a durable batch (see agent/ota/device-key.ts). The announcement is
// published retained at every connect until the broker has it.

import { existsSync } from 'node:fs';
import type { KeyPair } from '../encode/keys.js';
import type { Counters } from '../counters.js';
import type { Journal } from '../journal/journal.js';
import type { Logger } from '../log.js';
import type { DeviceKeys } from '../ota/device-key.js';
import type { Signing } from '../signing.js';
import type { Uplink } from '../uplink/uplink.js';
import type { Part } from './part.js';
import type { PeriodicJob } from './ticker.js';

export interface KeyRotationDeps {
  deviceKeys: DeviceKeys;
  signing: Signing;
  journal: Pick<Journal, 'sync'>;
  uplink: Pick<Uplink, 'publishSigned'>;
  /** Runs work in the agent's append chain. */
  enqueue(work: () => Promise<void>): void;
  /** Only a running agent rotates. */
  running(): boolean;
  counters: Counters;
  log: Logger;
}

export interface KeyRotation extends Part, PeriodicJob {
  /** Publishes the latest announcement, if any (at every connect). */
  announce(): void;
  /** device.key.old is still there (the broker has not acknowledged the announcement yet). */
  oldKeyKept(): boolean;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

export function createKeyRotation(everyMs: number, deps: KeyRotationDeps): KeyRotation {
  const { deviceKeys, signing, counters, log } = deps;
  let rotating = false;
  let errorLogged = false;

  async function publish(bytes: Uint8Array): Promise<void> {
    if (!(await deps.uplink.publishSigned('key', bytes, { retain: true }))) return; // again at the next connect
    counters.inc('key.announcements_published');
    if (deviceKeys.announced()) {
      log.info('key announcement acknowledged by the broker: old device key removed', { file: deviceKeys.paths.old });
    }
  }

  async function rollOver(next: KeyPair): Promise<void> {
    try {
      await deps.journal.sync();
      const seq = signing.encoder.state().seq + 1;
      const oldKid = hex(signing.signer.kid);
      const announcement = deviceKeys.rollOver(signing.signer, next, seq, signing.encoder.state().epoch);
      signing.use(next);
      counters.inc('key.rotations');
      log.info('device key rotated', { old_kid: oldKid, new_kid: hex(signing.signer.kid), from_seq: seq });
      void publish(announcement);
    } catch (err) {
      counters.inc('key.rotation_errors');
      log.error('device key rotation failed: still signing with the old key', { cause: (err as Error).message });
    } finally {
      rotating = false;
    }
  }

  return {
    name: 'key-rotation',
    everyMs,
    start() {},
    stop() {},
    tick() {
      if (!deps.running() || rotating) return;
      let next: KeyPair | undefined;
      try {
        next = deviceKeys.pendingNext(signing.keyPair);
        errorLogged = false;
      } catch (err) {
        if (!errorLogged) {
          errorLogged = true;
          counters.inc('key.rotation_errors');
          log.error('next device key unusable: not rotating', { file: deviceKeys.paths.next, cause: (err as Error).message });
        }
        return;
      }
      if (!next) return;
      const pair = next;
      rotating = true;
      deps.enqueue(() => rollOver(pair));
    },
    announce() {
      // retained and idempotent: re-published at every connect until it is no longer the latest
      const a = deviceKeys.announcement();
      if (a) void publish(a);
    },
    oldKeyKept: () => existsSync(deviceKeys.paths.old),
  };
}
