// Measures a process from outside, the way `top` and the kernel see it:
// CPU time of all its threads (schedstat, ns) and of the threads that already
// exited (utime+stime in /proc/<pid>/stat, clock ticks), resident memory
// (VmRSS now, VmHWM = peak) and the RSS split of smaps_rollup. Linux only.

import { readdirSync, readFileSync } from 'node:fs';

const TICK_NS = 1e7; // USER_HZ is 100 on Linux

function read(path: string): string | undefined {
  try { return readFileSync(path, 'utf8'); } catch { return undefined; }
}

/** CPU ns: the finer of the sum of live threads' schedstat and the stat ticks (which count exited threads too). */
export function cpuNs(pid: number): number {
  let sched = 0;
  let dirs: string[] = [];
  try { dirs = readdirSync(`/proc/${pid}/task`); } catch { return NaN; }
  for (const t of dirs) {
    const s = read(`/proc/${pid}/task/${t}/schedstat`);
    if (s) sched += Number(s.split(' ')[0]);
  }
  const stat = read(`/proc/${pid}/stat`);
  if (!stat) return sched;
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = (Number(f[11]) + Number(f[12])) * TICK_NS; // utime, stime (fields 14, 15)
  // ticks lag by up to one tick per thread; schedstat misses exited threads
  return ticks > sched + 2 * TICK_NS ? ticks : sched;
}

/** CPU ns of a process and all its descendants (Node-RED, npm wrappers), by walking /proc. */
export function treeCpuNs(pid: number): number {
  return descendants(pid).reduce((n, p) => n + (cpuNs(p) || 0), 0);
}

export function descendants(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    const kids = read(`/proc/${out[i]}/task/${out[i]}/children`);
    if (kids) for (const k of kids.trim().split(/\s+/)) if (k) out.push(Number(k));
  }
  return out;
}

function kbField(text: string | undefined, field: string): number {
  const m = text ? new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text) : null;
  return m ? Number(m[1]) * 1024 : NaN;
}

export interface Memory { rss: number; hwm: number }
export function memory(pid: number): Memory {
  const s = read(`/proc/${pid}/status`);
  return { rss: kbField(s, 'VmRSS'), hwm: kbField(s, 'VmHWM') };
}

export interface RssSplit { rss: number; anon: number; file: number }
/** smaps_rollup: anonymous (heaps, stacks) vs file-backed (the node binary, libraries) resident bytes. */
export function rssSplit(pid: number): RssSplit {
  const s = read(`/proc/${pid}/smaps_rollup`);
  return { rss: kbField(s, 'Rss'), anon: kbField(s, 'Anonymous'), file: kbField(s, 'Rss') - kbField(s, 'Anonymous') };
}

/** Samples a process's RSS every `everyMs` until stopped; peak is the kernel's VmHWM. */
export function rssSampler(pid: number, everyMs = 250): { samples: number[]; stop(): void } {
  const samples: number[] = [];
  const t = setInterval(() => {
    const m = memory(pid);
    if (Number.isFinite(m.rss)) samples.push(m.rss);
  }, everyMs);
  return { samples, stop: () => clearInterval(t) };
}
