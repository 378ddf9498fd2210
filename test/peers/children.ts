// The child processes of a process, from /proc/<pid>/task/*/children: proof
// that input typed somewhere (a console line) started no program.

import { readdirSync, readFileSync } from 'node:fs';

export function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      out.push(...readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/).filter((s) => s !== '').map(Number));
    } catch { /* thread gone meanwhile */ }
  }
  return out.sort((a, b) => a - b);
}
