// The sources as one part: each starts on its own; one that fails to start
// is counted and logged and the others run (it retries on its own where it can).

import type { Counters } from '../counters.js';
import type { Logger } from '../log.js';
import type { Reading } from '../reading.js';
import type { Source } from '../sources/source.js';
import type { Part } from './part.js';

export function createSourcesPart(sources: readonly Source[], deps: { sink(r: Reading): void; counters: Counters; log: Logger }): Part {
  return {
    name: 'sources',
    async start() {
      await Promise.all(sources.map(async (s) => {
        try { await s.start(deps.sink); } catch (err) {
          deps.counters.inc(`source.${s.id}.start_errors`);
          deps.log.error('source failed to start', { source: s.id, cause: (err as Error).message });
        }
      }));
    },
    async stop() {
      await Promise.all(sources.map((s) => s.stop().catch(() => undefined)));
    },
  };
}
