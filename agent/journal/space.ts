// The journal's effective bound: the smaller of journal.maxBytes and what the
// file system can hold, less a reserve that keeps gap notices, the state files
// and the status file writable. A full disk is the journal being full.
//
//   file system:  [ other files | journal segments | free .............. ]
//   limit      =  min(maxBytes, max(segments + free − reserve, floor))
//
// The floor keeps a few segments' worth even when other files took the disk:
// below it every append would evict the one before (each gap notice the last
// notice: a livelock burning seqs). A real ENOSPC still drops the oldest.
//
// The free space is asked at open, at each new segment and after an ENOSPC;
// between those the limit holds (the journal's own writes use what it counts).

import type { FileSystem } from '../../hal/file.js';

/** Kept free on the file system: room for gap notices, a segment header, block rounding, status.json. */
export const DISK_RESERVE_BYTES = 64 * 1024;
/** The journal's bound never goes below this for lack of free space (see above). */
export const DISK_FLOOR_BYTES = 64 * 1024;

export interface SpaceBound {
  /** Asks the file system again; `journalBytes` = the segments' bytes now. */
  refresh(journalBytes: number): Promise<void>;
  /** Bytes the segments may use. */
  limit(): number;
  /** 'disk' when the file system, not maxBytes, is the binding bound. */
  limitedBy(): 'maxBytes' | 'disk';
  /** What the segments could occupy at most, reserve or not (sizes segments so one drop frees a quarter). */
  room(): number;
}

export function createSpaceBound(dir: string, maxBytes: number, fs: FileSystem, reserve = DISK_RESERVE_BYTES): SpaceBound {
  let diskLimit = Infinity;
  let room = Infinity;
  return {
    async refresh(journalBytes) {
      if (!fs.space) return; // a file system that cannot tell: ENOSPC alone says when it is full
      try {
        const { free } = await fs.space(dir);
        diskLimit = Math.max(0, journalBytes + free - reserve);
        room = journalBytes + free;
      } catch {
        diskLimit = Infinity; // unknown now; an ENOSPC will ask again
        room = Infinity;
      }
    },
    limit: () => Math.min(maxBytes, Math.max(diskLimit, DISK_FLOOR_BYTES)),
    limitedBy: () => (Math.max(diskLimit, DISK_FLOOR_BYTES) < maxBytes ? 'disk' : 'maxBytes'),
    room: () => Math.min(maxBytes, Math.max(diskLimit, DISK_FLOOR_BYTES), room),
  };
}
