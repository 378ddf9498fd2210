// Source type -> factory. Adding a sensor protocol is one file plus one line here.

import type { SourceConfig } from '../config/schema.js';
import { createLinesSource } from './lines.js';
import { createModbusRtuSource } from './modbus-rtu.js';
import { createModbusSniffSource } from './modbus-sniff.js';
import type { Source, SourceContext } from './source.js';

export function createSource(config: SourceConfig, ctx: SourceContext): Source {
  switch (config.type) {
    case 'lines': return createLinesSource(config, ctx);
    case 'modbus-rtu': return createModbusRtuSource(config, ctx);
    case 'modbus-sniff': return createModbusSniffSource(config, ctx);
  }
}
