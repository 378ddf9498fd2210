// hal/file-node against the shared contract, on a real temp dir.

import { test } from 'uvu';
import { nodeFileSystem } from '../../hal/file-node.js';
import { tempDir } from '../helpers.js';
import { fileContract } from './file-contract.js';

fileContract(test, async () => {
  const t = tempDir('tapwire-file-');
  return { fs: nodeFileSystem, dir: t.path, async teardown() { t.remove(); } };
});

test.run();
