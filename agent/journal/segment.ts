// One segment file as the journal indexes it in memory: its seq range, sizes
// and a sparse index of record offsets (so a read seeks instead of scanning).

/** One sparse index entry: the record with `seq` starts at `offset`. */
export interface Mark { seq: number; offset: number }

export interface Segment {
  name: string;
  firstSeq: number;
  lastSeq: number;
  records: number;
  readings: number;
  /** Valid bytes: header + whole records. */
  size: number;
  /** One mark per INDEX_STRIDE bytes. */
  marks: Mark[];
}

/** Bytes between sparse index marks: 64 KiB keeps the index at ~1 KiB per 64 MiB of journal. */
export const INDEX_STRIDE = 64 * 1024;

export function emptySegment(name: string, headerBytes: number): Segment {
  return { name, firstSeq: 0, lastSeq: 0, records: 0, readings: 0, size: headerBytes, marks: [] };
}

/** Adds the record `seq` (framed, `frameBytes` long, at `offset`) to the segment's index. */
export function indexRecord(seg: Segment, seq: number, readings: number, offset: number, frameBytes: number): void {
  if (seg.records === 0) seg.firstSeq = seq;
  if (seg.marks.length === 0 || offset - seg.marks[seg.marks.length - 1]!.offset >= INDEX_STRIDE) seg.marks.push({ seq, offset });
  seg.lastSeq = seq;
  seg.records++;
  seg.readings += readings;
  seg.size = offset + frameBytes;
}
