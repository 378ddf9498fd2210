// "Read-only by construction", checked on the source: the console's modules
// import nothing that can run a program, open a socket, write a file or reach
// the journal, the uplink, the signer, the keys or the OTA store. What they
// can touch is what the views hand them.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('../../agent/console/', import.meta.url));
const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));

/** Module specifiers of value imports (not `import type`), and of dynamic imports / require calls. */
function valueImports(source: string): string[] {
  const out: string[] = [];
  for (const m of source.matchAll(/^import\s+(?!type\s)[^'"]*?from\s+'([^']+)'/gm)) out.push(m[1]!);
  for (const m of source.matchAll(/^import\s+'([^']+)'/gm)) out.push(m[1]!);
  for (const m of source.matchAll(/\b(?:import|require)\s*\(\s*['"`]([^'"`]+)/g)) out.push(m[1]!);
  return out;
}

const ALLOWED = new Set([
  'node:readline', 'node:stream', // the terminal
  '../config/console-port.js', // the port rule (reads symlinks only)
  '../sources/reopen.js', // keeps the console port open like a source's
  '../log.js',
  '../escape.js', // escaping of text from outside (pure string functions)
]);

test('the console folder has the modules we expect to check', () => {
  for (const f of ['console.ts', 'commands.ts', 'terminal.ts', 'views.ts', 'monitor.ts']) assert.ok(files.includes(f), f);
});

test('console modules import only the terminal, their own folder, the port rule, the port keeper, the logger and escaping', () => {
  for (const f of files) {
    for (const spec of valueImports(readFileSync(join(dir, f), 'utf8'))) {
      const ok = (spec.startsWith('./') && !spec.includes('..')) || ALLOWED.has(spec);
      assert.ok(ok, `${f} imports ${spec}`);
    }
  }
});

test('no console module names a way to run a program, open a socket or write a file', () => {
  const forbidden = /child_process|\bexecSync\b|\bspawn\(|node:net\b|node:dgram|node:http|node:worker_threads|node:vm\b|\bwriteFileSync\b|\bappendFileSync\b|\bunlinkSync\b|\beval\(|new Function\(/;
  for (const f of files) assert.not.match(readFileSync(join(dir, f), 'utf8'), forbidden, f);
});

test('the parser finds value imports, so the check above can fail', () => {
  assert.equal(valueImports("import { x } from 'node:child_process';\nimport type { Y } from '../journal/journal.js';\nconst m = await import('node:net');"), ['node:child_process', 'node:net']);
});

test.run();
