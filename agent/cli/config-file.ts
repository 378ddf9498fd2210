// Loads the config for a CLI command, or fails with exit code 2 and every
// issue listed (file: path: message [code]).

import { formatIssues, loadConfigFile, type ResolvedConfig } from '../config/load.js';
import type { Logger } from '../log.js';
import { CliError, EXIT_USAGE } from './usage.js';

export function loadConfigOrExit(path: string, log?: Logger): ResolvedConfig {
  const result = loadConfigFile(path);
  if (!result.ok) throw new CliError(`invalid config\n${formatIssues(result.issues, path)}`, EXIT_USAGE);
  for (const w of result.warnings) log?.warn(w.message, { path: w.path || undefined, file: path });
  return result.config;
}
