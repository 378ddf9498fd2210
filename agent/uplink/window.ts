// The in-flight window: batches go out in seq order, at most `limit` unacked
// on one connection, and the journal's committed offset advances over the
// contiguous PUBACKed prefix only. A window lives as long as its connection;
// a reconnect starts a new one at committed+1 (resend what was not acked).
//
//   committed ─┐  sent, in order (at most `limit`: inflight, or the broker's Receive Maximum)
//              ▼ ┌────┬────┬────┬────┐
//   ... 40 41 42 │ 43 │ 44 │ 45 │ 46 │ 47 48 ... durable, not yet sent
//                └────┴────┴────┴────┘
//   PUBACK(44) marks 44; nothing commits until 43 is acked, then commit(44).

import type { Clock, Timer } from '../../hal/clock.js';
import type { Counters } from '../counters.js';
import type { Logger } from '../log.js';
import { errorText } from './mqtt-errors.js';
import type { Conn, UplinkJournal, UplinkJournalRecord } from './types.js';

// A failed journal read is retried after this long (the connection stays).
const READ_RETRY_MS = 1000;

export interface InflightWindow {
  /** Effective window: min(inflight, broker's Receive Maximum). */
  readonly limit: number;
  /** The next seq to send on this connection. */
  readonly nextSeq: number;
  /** How many more may be sent now. */
  room(): number;
  /** Sent and not yet PUBACKed. */
  unacked(): number;
  sent(seq: number): void;
  /** Marks `seq` PUBACKed; returns the new end of the contiguous acked prefix, if it moved. */
  acked(seq: number): number | undefined;
}

export function createInflightWindow(limit: number, nextSeq: number): InflightWindow {
  /** Seqs sent and not yet committable, in send order. */
  const inOrder: number[] = [];
  /** Seqs PUBACKed but not yet committable (something before them is unacked). */
  const ackedSet = new Set<number>();
  let next = nextSeq;
  return {
    limit,
    get nextSeq() { return next; },
    room: () => limit - inOrder.length,
    unacked: () => inOrder.length - ackedSet.size,
    sent(seq) { inOrder.push(seq); next = seq + 1; },
    acked(seq) {
      ackedSet.add(seq);
      let upTo: number | undefined;
      while (inOrder.length > 0 && ackedSet.has(inOrder[0]!)) {
        upTo = inOrder.shift()!;
        ackedSet.delete(upTo);
      }
      return upTo;
    },
  };
}

export interface SenderDeps {
  journal: UplinkJournal;
  clock: Clock;
  log: Logger;
  counters: Counters;
  dataTopic: string;
  /** The connection to fill: the current one while it is up and the uplink is not stopping. */
  live(): Conn | undefined;
  /** A publish failed on a live connection: drop it (reconnect, resend from committed+1). */
  failed(conn: Conn, reason: string): void;
  /** Highest seq handed to the broker / committed so far. */
  published(seq: number): void;
  committed(seq: number): void;
}

export interface Sender {
  /** Fills the live connection's window from the journal (coalesced; never concurrent). */
  pump(): void;
  stop(): void;
}

/** Reads durable batches into the live connection's window and commits what the broker acknowledged. */
export function createSender(deps: SenderDeps): Sender {
  const { journal, clock, log, counters } = deps;
  let pumping = false;
  let pumpRequested = false;
  let readRetryTimer: Timer | undefined;

  function onPuback(conn: Conn, seq: number, err: Error | undefined): void {
    if (conn.phase !== 'up' && conn.phase !== 'closing') return; // a dead connection's late callback
    if (err) {
      counters.inc('uplink.publish_errors');
      // reconnect (with backoff) and resend from the committed offset: order is kept
      if (conn.phase === 'up') deps.failed(conn, `publish of seq ${seq} failed: ${errorText(err)}`);
      return;
    }
    counters.inc('uplink.acked');
    const commitTo = conn.window.acked(seq);
    if (commitTo !== undefined && commitTo > journal.committedSeq()) {
      try {
        journal.commit(commitTo);
        deps.committed(commitTo);
      } catch (e) {
        // not fatal: the broker has the batches; at worst they are resent after a restart
        counters.inc('uplink.commit_errors');
        log.error('journal commit failed', { seq: commitTo, error: errorText(e) });
      }
    }
    pump();
  }

  /** Publishes one record, unless the journal dropped (and told) it since it was read. */
  function send(conn: Conn, r: UplinkJournalRecord): void {
    if (!journal.sent(r.seq)) return;
    conn.window.sent(r.seq);
    deps.published(r.seq);
    counters.inc('uplink.published');
    const payload = Buffer.from(r.bytes.buffer, r.bytes.byteOffset, r.bytes.byteLength);
    conn.client.publish(deps.dataTopic, payload, { qos: 1 }, (err) => onPuback(conn, r.seq, err));
  }

  /** Fills the window of the live connection from the journal; never publishes while disconnected. */
  async function fill(): Promise<void> {
    for (;;) {
      const conn = deps.live();
      if (!conn) return;
      const room = conn.window.room();
      if (room <= 0 || conn.window.nextSeq > journal.durableSeq()) return;
      let records: UplinkJournalRecord[];
      try {
        records = await journal.readFrom(conn.window.nextSeq, room);
      } catch (err) {
        counters.inc('uplink.journal_read_errors');
        log.error('journal read failed', { from: conn.window.nextSeq, error: errorText(err), retryMs: READ_RETRY_MS });
        readRetryTimer?.cancel();
        readRetryTimer = clock.setTimeout(() => { readRetryTimer = undefined; pump(); }, READ_RETRY_MS);
        return;
      }
      if (conn !== deps.live()) continue; // reconnected meanwhile: start over
      let progressed = false;
      for (const r of records) {
        if (r.seq < conn.window.nextSeq) continue;
        if (conn.window.room() <= 0) break;
        send(conn, r);
        progressed = true; // a record skipped as dropped is off disk: the next read goes past it
      }
      if (!progressed) return;
    }
  }

  function pump(): void {
    pumpRequested = true;
    if (pumping) return;
    pumping = true;
    void (async () => {
      try {
        while (pumpRequested) {
          pumpRequested = false;
          await fill();
        }
      } finally {
        pumping = false;
      }
    })();
  }

  return {
    pump,
    stop() { readRetryTimer?.cancel(); readRetryTimer = undefined; },
  };
}
