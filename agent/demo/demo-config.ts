// The demo station's config and identity: the config the demo writes for its
// agent (`tapwire run` reads it like any device's), and the device key,
// provisioned as `tapwire provision` does: created in a state dir that has
// none, reused when one is there.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { keyPaths } from '../agent.js';
import { ensureKey } from '../encode/keys.js';
import { readPrivateKey, type KeyPair } from '../encode/keys.js';

export const DEMO_DEVICE = 'demo-station';
/**
 * Small on purpose: `f` fills it in seconds with a burst of readings while the
 * broker is held down. At the demo's normal rate it holds minutes of readings,
 * so `b` drains with no gap unless the broker stays down that long — then the
 * same signed gap notice tells what was dropped.
 */
export const DEMO_JOURNAL_BYTES = 256 * 1024;

export interface DemoPorts { nmea: string; kv: string; console?: string }

export function demoConfig(o: { stateDir: string; url: string; ports: DemoPorts }): Record<string, unknown> {
  return {
    device: DEMO_DEVICE,
    stateDir: o.stateDir,
    clock: 'auto',
    // a quick reconnect: after `b` the agent is back within ~2 s
    uplink: { url: o.url, protocolVersion: 4, reconnect: { initialMs: 200, maxMs: 2000 } },
    batch: { maxRecords: 100, maxAgeMs: 1000 },
    // fsync every batch (a demo's temp dir has no SD card to wear): a batch is
    // published as soon as it is signed, so "pending" reads 0 when nothing waits
    journal: { maxBytes: DEMO_JOURNAL_BYTES, fsyncIntervalMs: 0 },
    sources: [
      { id: 'wx', type: 'lines', port: { path: o.ports.nmea, baudRate: 4800 }, decoder: { type: 'nmea' } },
      { id: 'env', type: 'lines', port: { path: o.ports.kv, baudRate: 9600 },
        decoder: { type: 'kv', units: { temp: 'Cel', hum: '%RH', pres: 'hPa' } } },
    ],
    ...(o.ports.console ? { console: { port: { path: o.ports.console, baudRate: 115200 } } } : {}),
  };
}

/** Writes the config as <stateDir>/demo-config.json (what `tapwire run --config` reads); returns its path. */
export function writeDemoConfig(stateDir: string, config: Record<string, unknown>): string {
  const file = join(stateDir, 'demo-config.json');
  writeFileSync(file, JSON.stringify(config, null, 2) + '\n', { mode: 0o600 });
  return file;
}

/** The state dir (0700) and its device key: made when missing, reused when present. */
export function provisionDemo(stateDir: string): { pair: KeyPair; created: boolean } {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const paths = keyPaths(stateDir);
  const created = ensureKey(paths);
  return { pair: readPrivateKey(paths.key), created };
}
