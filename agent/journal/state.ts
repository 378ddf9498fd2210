// The journal's two small state files: the chain position (chain-file.ts),
// written with every append, and the committed offset (commit-file.ts),
// written after each data fsync — both into the page cache. The chain state
// is fsynced when its lease is renewed, at open and at a clean stop; the
// commit offset at a clean stop. Created at open at their full size, so
// rewriting them never needs disk space.

import { dirname } from 'node:path';
import type { FileSystem } from '../../hal/file.js';
import type { Counters } from '../counters.js';
import type { Logger } from '../log.js';
import { createChainFile, type ChainRecord } from './chain-file.js';
import { createCommitFile, type CommitLoad } from './commit-file.js';
import type { ChainHead } from './recover.js';
import type { SlotLoad } from './slot-file.js';

/** The chain state's lease: fsynced once per this many batches (see chain-file.ts). */
export const CHAIN_LEASE = 1024;

export interface JournalStateDeps {
  fs: FileSystem;
  log: Logger;
  counters: Counters;
  commitPath: string;
  chainPath: string;
  bootId: Uint8Array;
  fsync(sync: () => Promise<void>): Promise<void>;
  wrote(bytes: number): void;
  /** A state file was created in `dir`: its entry needs a directory fsync. */
  created(dir: string): void;
}

export interface JournalState {
  load(): Promise<{ chain: SlotLoad<ChainRecord>; commit: CommitLoad }>;
  /** The committed offset as it is on disk after load (it need not be written again). */
  adoptCommitted(seq: number): void;
  /** At open: both files exist, the chain state (not clean: running) is fsynced. Throws if they cannot be written. */
  open(chain: ChainHead, committed: number): Promise<void>;
  /** A batch was journaled: the chain position (page cache; a renewed lease is fsynced). Never throws: logged. */
  afterAppend(chain: ChainHead): Promise<void>;
  /** After a data fsync: the commit offset if it moved (page cache). Never throws: logged, retried next time. */
  afterSync(committed: number): Promise<void>;
  /** A clean stop: the chain position exact (flagged clean), the commit offset fsynced. */
  closeClean(chain: ChainHead, committed: number): Promise<void>;
  close(): Promise<void>;
}

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

export function createJournalState(deps: JournalStateDeps): JournalState {
  const { log, counters } = deps;
  const commitFile = createCommitFile(deps.commitPath, deps.fs);
  const chainFile = createChainFile(deps.chainPath, deps.fs);
  let chainRec: ChainRecord | undefined; // as last stored
  let persisted = -1; // committed seq as last written; -1 = must write
  let commitSynced = -1; // as last fsynced
  let failed = false;

  /** Writes the chain position (page cache); fsyncs it when the lease is renewed or asked to. */
  async function storeChain(chain: ChainHead, opt: { clean?: boolean; sync?: boolean } = {}): Promise<void> {
    const prev = chainRec;
    const renew = !prev || chain.seq > prev.lease;
    const rec: ChainRecord = {
      seq: chain.seq, hash: chain.hash, epoch: chain.epoch, bootId: deps.bootId, clean: opt.clean ?? false,
      lease: renew ? chain.seq + CHAIN_LEASE : prev.lease, gen: ((prev?.gen ?? 0) + 1) >>> 0,
    };
    const w = await chainFile.store(rec);
    deps.wrote(w.bytes);
    if (w.created) deps.created(dirname(deps.chainPath));
    chainRec = rec;
    if (renew || opt.sync) await deps.fsync(() => chainFile.sync());
  }

  async function storeCommit(committed: number, sync: boolean): Promise<void> {
    if (committed !== persisted) {
      const w = await commitFile.store(committed);
      deps.wrote(w.bytes);
      if (w.created) deps.created(dirname(deps.commitPath));
      persisted = committed;
    }
    if (sync && persisted !== commitSynced) {
      await deps.fsync(() => commitFile.sync());
      commitSynced = persisted;
    }
  }

  /** A state write that fails is logged once (until one succeeds) and counted; the journal goes on. */
  async function logged(write: () => Promise<void>): Promise<void> {
    try {
      await write();
      failed = false;
    } catch (err) {
      counters.inc('journal.state_write_errors');
      if (!failed) log.error('cannot write the chain state or commit offset; retrying with the next write', { file: deps.chainPath, err: String(err) });
      failed = true;
    }
  }

  const chainChanged = (chain: ChainHead): boolean => !chainRec || chainRec.seq !== chain.seq || !sameBytes(chainRec.epoch, chain.epoch);

  return {
    async load() {
      const chain = await chainFile.load();
      if (chain.ok) chainRec = chain.value;
      return { chain, commit: await commitFile.load() };
    },
    adoptCommitted(seq) { persisted = seq; commitSynced = seq; },
    async open(chain, committed) {
      await storeChain(chain, { sync: true });
      await storeCommit(committed, true);
    },
    async afterAppend(chain) {
      await logged(async () => { if (chainChanged(chain)) await storeChain(chain); });
    },
    async afterSync(committed) {
      await logged(() => storeCommit(committed, false));
    },
    async closeClean(chain, committed) {
      await storeChain(chain, { clean: true, sync: true });
      await storeCommit(committed, true);
    },
    async close() {
      await commitFile.close().catch(() => undefined);
      await chainFile.close().catch(() => undefined);
    },
  };
}
