// Refuses regular expressions that can backtrack catastrophically on one line
// (V8's engine backtracks; `^(a+)+$` on 30 a's and a "!" pins the CPU). Two
// rules, named in the reason, over a parse of the pattern:
//   nested quantifier        a repeated part inside a repeated part: (a+)+, (\d+,)*
//                            (star height > 1)
//   overlapping alternation  a repeated alternation whose branches can start
//                            with the same character, or match nothing: (a|ab)*, (\w|\d)+
// Both are conservative: a few safe patterns are refused too, and say why.

/** Characters a part can start with: ASCII codes plus "anything beyond ASCII". */
interface CharSet { ascii: Set<number>; other: boolean }

type Node =
  | { k: 'atom'; set: CharSet }
  | { k: 'empty' }
  | { k: 'seq'; items: Node[] }
  | { k: 'alt'; branches: Node[] }
  | { k: 'quant'; body: Node; min: number; max: number };

const ALL = (): CharSet => ({ ascii: new Set(Array.from({ length: 128 }, (_, i) => i)), other: true });
const chars = (codes: Iterable<number>, other = false): CharSet => ({ ascii: new Set(codes), other });
const range = (a: string, b: string): number[] => Array.from({ length: b.charCodeAt(0) - a.charCodeAt(0) + 1 }, (_, i) => a.charCodeAt(0) + i);
const DIGIT = range('0', '9');
const WORD = [...DIGIT, ...range('A', 'Z'), ...range('a', 'z'), 95];
const SPACE = [9, 10, 11, 12, 13, 32];
const complement = (s: CharSet): CharSet => chars(Array.from({ length: 128 }, (_, i) => i).filter((c) => !s.ascii.has(c)), true);

/** The rule a pattern breaks, as a reason for a person, or undefined when it is safe. */
export function backtrackingRisk(pattern: string): string | undefined {
  let tree: Node;
  try {
    tree = new Parser(pattern).parse();
  } catch {
    return undefined; // not ours to judge: new RegExp reports invalid patterns
  }
  return risk(tree, false);
}

function risk(n: Node, repeated: boolean): string | undefined {
  switch (n.k) {
    case 'atom': case 'empty': return undefined;
    case 'seq': for (const i of n.items) { const r = risk(i, repeated); if (r) return r; } return undefined;
    case 'alt':
      if (repeated && overlaps(n.branches)) return 'overlapping alternation under a quantifier (branches that can match the same text inside a repeated group, like (a|ab)*): it can backtrack catastrophically';
      for (const b of n.branches) { const r = risk(b, repeated); if (r) return r; }
      return undefined;
    case 'quant':
      if (n.max > 1 && repeated) return 'nested quantifier (a repeated part inside a repeated part, like (a+)+): it can backtrack catastrophically';
      return risk(n.body, repeated || n.max > 1);
  }
}

function overlaps(branches: Node[]): boolean {
  const firsts = branches.map(first);
  for (let i = 0; i < branches.length; i++) {
    if (nullable(branches[i]!)) return true;
    for (let j = i + 1; j < branches.length; j++) {
      const a = firsts[i]!;
      const b = firsts[j]!;
      if ((a.other && b.other) || [...a.ascii].some((c) => b.ascii.has(c))) return true;
    }
  }
  return false;
}

function nullable(n: Node): boolean {
  switch (n.k) {
    case 'atom': return false;
    case 'empty': return true;
    case 'seq': return n.items.every(nullable);
    case 'alt': return n.branches.some(nullable);
    case 'quant': return n.min === 0 || nullable(n.body);
  }
}

function first(n: Node): CharSet {
  const out = chars([]);
  const add = (s: CharSet): void => { for (const c of s.ascii) out.ascii.add(c); out.other ||= s.other; };
  switch (n.k) {
    case 'atom': add(n.set); break;
    case 'empty': break;
    case 'seq': for (const i of n.items) { add(first(i)); if (!nullable(i)) break; } break;
    case 'alt': for (const b of n.branches) add(first(b)); break;
    case 'quant': add(first(n.body)); break;
  }
  return out;
}

class Parser {
  private i = 0;
  constructor(private readonly s: string) {}

  parse(): Node {
    const n = this.alternation();
    if (this.i < this.s.length) throw new Error('unbalanced )');
    return n;
  }

  private alternation(): Node {
    const branches = [this.sequence()];
    while (this.s[this.i] === '|') { this.i++; branches.push(this.sequence()); }
    return branches.length === 1 ? branches[0]! : { k: 'alt', branches };
  }

  private sequence(): Node {
    const items: Node[] = [];
    while (this.i < this.s.length && this.s[this.i] !== '|' && this.s[this.i] !== ')') {
      let atom = this.atom();
      for (;;) {
        const q = this.quantifier();
        if (!q) break;
        if (q.max !== 1 || q.min !== 1) atom = { k: 'quant', body: atom, min: q.min, max: q.max };
      }
      items.push(atom);
    }
    return items.length === 0 ? { k: 'empty' } : { k: 'seq', items };
  }

  private quantifier(): { min: number; max: number } | undefined {
    const c = this.s[this.i];
    let q: { min: number; max: number } | undefined;
    if (c === '*') q = { min: 0, max: Infinity };
    else if (c === '+') q = { min: 1, max: Infinity };
    else if (c === '?') q = { min: 0, max: 1 };
    else if (c === '{') {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(this.s.slice(this.i));
      if (!m) return undefined;
      this.i += m[0].length - 1;
      const min = Number(m[1]);
      q = { min, max: m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]) };
    }
    if (!q) return undefined;
    this.i++;
    if (this.s[this.i] === '?') this.i++; // lazy: backtracks all the same
    return q;
  }

  private atom(): Node {
    const c = this.s[this.i++]!;
    switch (c) {
      case '^': case '$': return { k: 'empty' };
      case '.': return { k: 'atom', set: complement(chars([10, 13])) };
      case '[': return { k: 'atom', set: this.cls() };
      case '\\': return this.escape(false);
      case '(': {
        let look = false;
        if (this.s.startsWith('?:', this.i)) this.i += 2;
        else if (/^\?<?[=!]/.test(this.s.slice(this.i))) { look = true; this.i += this.s[this.i + 1] === '<' ? 3 : 2; }
        else if (this.s.startsWith('?<', this.i)) this.i = this.s.indexOf('>', this.i) + 1;
        const body = this.alternation();
        if (this.s[this.i++] !== ')') throw new Error('unclosed (');
        return look ? { k: 'empty' } : body;
      }
      default: return { k: 'atom', set: chars([c.charCodeAt(0)], c.charCodeAt(0) > 127) };
    }
  }

  /** After a backslash. In a class, \b is a backspace; outside, an assertion. */
  private escape(inClass: boolean): Node & { k: 'atom' | 'empty' } {
    const c = this.s[this.i++] ?? '\\';
    const set = (s: CharSet): Node & { k: 'atom' } => ({ k: 'atom', set: s });
    switch (c) {
      case 'd': return set(chars(DIGIT));
      case 'D': return set(complement(chars(DIGIT)));
      case 'w': return set(chars(WORD));
      case 'W': return set(complement(chars(WORD)));
      case 's': return set(chars(SPACE, true));
      case 'S': return set(complement(chars(SPACE)));
      case 'b': return inClass ? set(chars([8])) : { k: 'empty' };
      case 'B': return { k: 'empty' };
      case 'n': return set(chars([10]));
      case 'r': return set(chars([13]));
      case 't': return set(chars([9]));
      case 'x': { const h = this.s.slice(this.i, this.i + 2); this.i += 2; return set(chars([parseInt(h, 16)])); }
      case 'u': { const h = this.s.slice(this.i, this.i + 4); this.i += 4; const n = parseInt(h, 16); return set(chars(n < 128 ? [n] : [], n >= 128)); }
      case 'k': this.i = this.s.indexOf('>', this.i) + 1; return set(ALL());
      default:
        if (/[1-9]/.test(c)) { while (/\d/.test(this.s[this.i] ?? '')) this.i++; return set(ALL()); }
        return set(chars([c.charCodeAt(0)], c.charCodeAt(0) > 127));
    }
  }

  private cls(): CharSet {
    const negate = this.s[this.i] === '^';
    if (negate) this.i++;
    const out = chars([]);
    let prev: number | undefined;
    while (this.i < this.s.length && this.s[this.i] !== ']') {
      const c = this.s[this.i++]!;
      if (c === '-' && prev !== undefined && this.s[this.i] !== ']') {
        const end = this.s[this.i] === '\\' ? (this.i++, this.escape(true)) : { k: 'atom' as const, set: chars([this.s.charCodeAt(this.i++)]) };
        const hi = end.k === 'atom' && end.set.ascii.size === 1 ? [...end.set.ascii][0]! : 0x10ffff;
        for (let x = prev; x <= Math.min(hi, 127); x++) out.ascii.add(x);
        if (hi > 127) out.other = true;
        prev = undefined;
        continue;
      }
      const part = c === '\\' ? this.escape(true) : { k: 'atom' as const, set: chars([c.charCodeAt(0)], c.charCodeAt(0) > 127) };
      if (part.k === 'atom') {
        for (const x of part.set.ascii) out.ascii.add(x);
        out.other ||= part.set.other;
        prev = part.set.ascii.size === 1 && !part.set.other ? [...part.set.ascii][0] : undefined;
      }
    }
    this.i++;
    return negate ? complement(out) : out;
  }
}
