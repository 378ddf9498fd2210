// How to start this same program again as a child process, the way the CLI
// was started: under node (tsx from source, or the bundle) it is node, its
// flags and the entry script; inside a single executable (Node SEA) it is the
// executable alone (its argv[1] is itself, not a script).

interface Sea { isSea(): boolean }

export function selfCommand(args: readonly string[]): { command: string; args: string[] } {
  const sea = process.getBuiltinModule?.('node:sea') as Sea | undefined;
  if (sea?.isSea()) return { command: process.execPath, args: [...args] };
  const entry = process.argv[1];
  if (!entry) throw new Error('cannot tell how this program was started (no entry script in argv)');
  // a debugger port cannot be opened twice
  const flags = process.execArgv.filter((a) => !a.startsWith('--inspect'));
  return { command: process.execPath, args: [...flags, entry, ...args] };
}
