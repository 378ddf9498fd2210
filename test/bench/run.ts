// `npm run bench`: runs every test/bench/*.bench.ts (each exports run()) and
// prints their tables. Benchmarks print figures; they never pass or fail.
// `npm run bench -- journal` runs only benches whose file name matches.

import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const filter = process.argv[2];
const files = readdirSync(here).filter((f) => f.endsWith('.bench.ts') && (!filter || f.includes(filter))).sort();
for (const f of files) {
  process.stdout.write(`\n## ${f}\n`);
  const mod = (await import(pathToFileURL(join(here, f)).href)) as { run?: () => Promise<void> };
  if (typeof mod.run !== 'function') { process.stdout.write('(no run() export)\n'); continue; }
  await mod.run();
}
