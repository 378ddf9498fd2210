// Which sockets does a process hold, and is any of them listening? Reads
// /proc/<pid>/fd (socket inodes) and matches them against /proc/net tables:
// TCP in state LISTEN (0A), any bound UDP socket, unix sockets with
// __SO_ACCEPTCON (0x10000).

import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

export interface SocketReport { sockets: number; listening: string[] }

function socketInodes(pid: number): Set<string> {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m?.[1]) inodes.add(m[1]);
    } catch { /* fd closed meanwhile */ }
  }
  return inodes;
}

function table(pid: number, name: string): string[][] {
  try {
    return readFileSync(`/proc/${pid}/net/${name}`, 'utf8').trim().split('\n').slice(1).map((l) => l.trim().split(/\s+/));
  } catch { return []; }
}

export function socketReport(pid: number): SocketReport {
  const inodes = socketInodes(pid);
  const listening: string[] = [];
  for (const proto of ['tcp', 'tcp6']) {
    for (const cols of table(pid, proto)) {
      if (cols[3] === '0A' && cols[9] && inodes.has(cols[9])) listening.push(`${proto} ${cols[1]}`);
    }
  }
  for (const proto of ['udp', 'udp6']) {
    for (const cols of table(pid, proto)) if (cols[9] && inodes.has(cols[9])) listening.push(`${proto} ${cols[1]}`);
  }
  for (const cols of table(pid, 'unix')) {
    // Num RefCount Protocol Flags Type St Inode Path
    const flags = parseInt(cols[3] ?? '0', 16);
    if (cols[6] && inodes.has(cols[6]) && (flags & 0x10000) !== 0) listening.push(`unix ${cols[7] ?? '(anonymous)'}`);
  }
  return { sockets: inodes.size, listening };
}
