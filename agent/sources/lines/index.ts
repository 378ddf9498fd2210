// The `lines` source type: a line-oriented ASCII sensor (README.md).

import { defineSource } from '../descriptor.js';
import { checkDecoder } from '../decoders/decoder.js';
import { under } from '../problem.js';
import { LinesSourceSchema } from './schema.js';
import { createLinesSource } from './source.js';

export const linesSource = defineSource({
  type: 'lines',
  schema: LinesSourceSchema,
  check: (config) => under(['decoder'], checkDecoder(config.decoder)),
  create: createLinesSource,
});
