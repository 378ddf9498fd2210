// What a source type's check says about a schema-valid config: the place
// (relative to the source), what kind of mistake, and one line for a person.
// Config checking turns problems into issues with full paths; a factory
// refuses with the same problems (refuse), so check and run cannot disagree.

export type ProblemPath = (string | number)[];

export type ProblemKind = 'semantic' | 'duplicate' | 'range' | 'required';

export interface Problem {
  path: ProblemPath;
  kind: ProblemKind;
  message: string;
  /** The other place of a duplicate; shown after the message as "(also <path>)". */
  also?: ProblemPath;
}

/** Thrown by a factory given a config its type's check refuses. */
export interface SourceConfigError extends Error {
  code: 'ERR_CONFIG';
  problems: Problem[];
}

/** "devices[0].registers[2].type" for ["devices", 0, "registers", 2, "type"]. */
export function problemPath(path: ProblemPath): string {
  return path.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
}

/** Prefixes every problem's paths with `at`. */
export function under(at: ProblemPath, problems: Problem[]): Problem[] {
  return problems.map((p) => (p.also ? { ...p, path: [...at, ...p.path], also: [...at, ...p.also] } : { ...p, path: [...at, ...p.path] }));
}

/** The message with the other place of a duplicate, paths shown by `show`. */
export function problemMessage(p: Problem, show: (path: ProblemPath) => string = problemPath): string {
  return p.also ? `${p.message} (also ${show(p.also)})` : p.message;
}

/** Throws a SourceConfigError naming every problem, if there is one. */
export function refuse(where: string, problems: Problem[]): void {
  if (problems.length === 0) return;
  const text = problems.map((p) => (p.path.length > 0 ? `${problemPath(p.path)}: ${problemMessage(p)}` : problemMessage(p))).join('; ');
  throw Object.assign(new Error(`${where}: ${text}`), { code: 'ERR_CONFIG' as const, problems });
}
