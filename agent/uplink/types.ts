// The uplink's public types (re-exported by uplink.ts, which callers import)
// and the one internal record of a connection its parts share.

import type { IClientOptions, MqttClient } from 'mqtt';
import type { Timer } from '../../hal/clock.js';
import type { Journal, JournalRecord } from '../journal/journal.js';
import type { DeviceLeaf } from './topics.js';
import type { InflightWindow } from './window.js';

/** One durable journal record. */
export type UplinkJournalRecord = JournalRecord;

/** The part of the journal the uplink uses. */
export type UplinkJournal = Pick<Journal, 'readFrom' | 'committedSeq' | 'commit' | 'durableSeq' | 'onDurable' | 'sent' | 'rewind'>;

export interface UplinkOptions {
  device: string;
  url: string;
  protocolVersion: 4 | 5;
  clientId: string;
  topicPrefix: string;
  keepaliveS: number;
  inflight: number;
  reconnect: { initialMs: number; maxMs: number };
  /** File paths; key and passwordFile must be mode 0600 (or stricter). */
  ca?: string;
  cert?: string;
  key?: string;
  username?: string;
  passwordFile?: string;
  /** How often the retained online status is refreshed; default 60000. */
  statusIntervalMs?: number;
  /** How often credential files are checked for changes (then: reconnect with them); default 5000, 0 = never. */
  fileWatchMs?: number;
}

/** How a config message arrived: `retained` (sent because we subscribed) or `dup` (a redelivery). */
export interface InboundMeta { retained: boolean; dup: boolean }

/** Topics publishSigned() may use, relative to <prefix>/<dev>/. */
export type SignedTopic = Extract<DeviceLeaf, 'config/ack' | 'key'>;

export interface UplinkState {
  connected: boolean;
  lastError?: string;
  /** Batches sent on this connection and not yet PUBACKed. */
  inflight: number;
  /** Highest seq handed to the broker (any connection). */
  publishedSeq: number;
  /** Highest seq committed: it and everything before it were PUBACKed. */
  ackedSeq: number;
  /** Connection attempts after the first one. */
  reconnects: number;
  /** Delay of the pending reconnect, if one is scheduled. */
  nextRetryMs?: number;
  /** Wall ms of the pending reconnect, if one is scheduled. */
  nextRetryAt?: number;
  /** Wall ms since when `connected` has had its value (the start, a CONNACK, a loss). */
  since?: number;
  /** The broker URL as it may be shown: scheme, host and port, never credentials. */
  broker?: string;
}

export interface Uplink {
  /** Schedules the first connect and returns; a down broker is not an error. Throws for unusable credential files. */
  start(): Promise<void>;
  /** Publishes a signed offline status (if connected), disconnects cleanly; bounded in time. */
  stop(): Promise<void>;
  state(): UplinkState;
  /** Called after every successful connect (CONNACK accepted). */
  onConnect(listener: () => void): void;
  /**
   * Publishes already signed bytes on <prefix>/<dev>/<topic>, QoS 1. Resolves
   * true once PUBACKed, false if not connected or the publish failed (never rejects).
   */
  publishSigned(topic: SignedTopic, payload: Uint8Array, opts: { retain: boolean }): Promise<boolean>;
}

/** Opens a client (default: connectMqtt); tests may wrap or replace it. */
export type ConnectFn = (opts: IClientOptions) => MqttClient;

export type ConnPhase = 'connecting' | 'up' | 'closing' | 'closed';

/** One connection (or attempt) to the broker. */
export interface Conn {
  client: MqttClient;
  phase: ConnPhase;
  connectedAt?: number;
  /** Unix seconds of the CONNACK, the `since` of the online status. */
  since: number;
  /** What was sent on this connection and not yet committed. */
  window: InflightWindow;
  error?: string;
  refusal?: { code: number; text: string };
  connectTimer?: Timer;
  statusTimer?: Timer;
}
