// `lines` source: a line-oriented ASCII sensor on a read-only port. Bytes go
// through @serialport/parser-readline (bounded: a line longer than
// maxLineBytes is dropped and counted), each line through the configured
// decoder. A bad line is counted and logged rate-limited, never fatal.

import { ReadlineParser } from '@serialport/parser-readline';
import { createRateLimitedWarn } from '../../log.js';
import type { ReadingSink } from '../../reading.js';
import { createDecoder, toReadings } from '../decoders/decoder.js';
import { createPortKeeper } from '../reopen.js';
import type { Source, SourceContext, SourceHealth } from '../source.js';
import { defaultOf } from '../../schema-parts.js';
import { shorten } from '../../escape.js';
import { LinesSourceSchema, type LinesSourceConfig } from './schema.js';

export function createLinesSource(config: LinesSourceConfig, ctx: SourceContext): Source {
  const id = config.id;
  const maxLine = config.maxLineBytes ?? defaultOf(LinesSourceSchema, 'maxLineBytes');
  const delimiter = config.delimiter ?? defaultOf(LinesSourceSchema, 'delimiter');
  const decoder = createDecoder(config.decoder, config.id);
  const log = ctx.log.child(`source:${id}`);
  const warnBad = createRateLimitedWarn(log, 10_000, () => ctx.clock.monotonic());
  const prefix = `source.${id}`;
  const port = ctx.serial.openReadOnly({
    path: config.port.path,
    baudRate: config.port.baudRate,
    dataBits: config.port.dataBits,
    stopBits: config.port.stopBits,
    parity: config.port.parity,
  });
  let sink: ReadingSink | undefined;
  let lastReadingAt: number | undefined;
  let parser = newParser();
  // after an overlong line was cut, the next emitted "line" is its tail
  let discardNext = false;

  function newParser(): ReadlineParser {
    const p = new ReadlineParser({ delimiter, encoding: 'utf8' });
    p.on('data', (line: string) => onLine(line));
    return p;
  }

  function onLine(raw: string): void {
    if (discardNext) { discardNext = false; return; }
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    ctx.counters.inc(`${prefix}.lines`);
    let result: ReturnType<typeof decoder.decode>;
    try { result = decoder.decode(line); } catch (err) {
      result = { ok: false, error: `decoder failed: ${(err as Error).message}` };
    }
    if (!result.ok) {
      ctx.counters.inc(`${prefix}.bad_lines`);
      warnBad('bad line', { reason: result.error, line: shorten(line, 80) }); // the log escapes it (once)
      return;
    }
    if (result.values.length === 0) return;
    const nowMs = ctx.clock.now();
    const readings = toReadings(id, nowMs / 1000, result.values);
    lastReadingAt = nowMs;
    ctx.counters.inc(`${prefix}.readings`, readings.length);
    for (const r of readings) sink?.(r);
  }

  port.onData((chunk) => {
    parser.write(chunk);
    // parser-readline keeps everything since the last delimiter: bound it so
    // garbage without newlines cannot grow memory.
    if (parser.buffer.length > maxLine) {
      parser.buffer = Buffer.alloc(0);
      discardNext = true;
      ctx.counters.inc(`${prefix}.long_lines`);
      warnBad('line too long, dropped', { max_bytes: maxLine });
    }
  });

  const keeper = createPortKeeper(port, {
    counterPrefix: prefix,
    // a partial line from before a reconnect must not glue onto new data
    onOpen: () => { parser.removeAllListeners('data'); parser = newParser(); discardNext = false; },
  }, { clock: ctx.clock, log, counters: ctx.counters });

  return {
    id,
    async start(s) { sink = s; await keeper.start(); },
    async stop() {
      // half a line stays with the port for a source that reads it next (a config swap): never cut a line
      await keeper.stop(discardNext ? { dropThrough: Buffer.from(delimiter, 'utf8') } : { unconsumed: Buffer.from(parser.buffer) });
      sink = undefined;
    },
    health(): SourceHealth { return { open: keeper.isOpen, lastReadingAt }; },
  };
}
