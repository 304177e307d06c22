/**
 * Sequence-gap detection for feeds that number their messages (per symbol, per channel, or
 * globally). Venues say "if you see a gap, resync"; this finds the gaps without a second JSON
 * parse on the hot path.
 *
 * A message is one JSON object or an array of objects; each object that has the sequence field at
 * its top level is checked. The fast path scans the text for `"<field>":` and for each scope key,
 * and pairs the k-th sequence with the k-th value of each scope key. When that pairing is not
 * certain (a scope key missing or repeated, escaped characters in a scope value, a key that
 * occurs in a nested object), it falls back to `JSON.parse` of the message, which is always exact.
 *
 * Per scope: the first number seen starts the sequence; `expected = last + 1`; a larger number is
 * a gap (reported once, with the number of missing messages `got - expected`); a smaller or equal
 * number is counted as out of order and does not move the sequence back.
 */

export interface GapReport {
  scope: string;
  expected: number;
  got: number;
}

export interface SequenceStats {
  /** Gaps found (one per jump). */
  gaps: number;
  /** Messages missing in those gaps. */
  missing: number;
  /** Numbers at or below the last one seen (duplicates, replays). */
  outOfOrder: number;
  /** Messages whose sequence could not be read by the fast path (parsed as JSON instead). */
  slowPath: number;
}

const GLOBAL = 'global';

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13;
}

export class SequenceTracker {
  private readonly field: string;
  private readonly fieldName: string;
  private readonly fieldToken: string;
  private readonly scopeKeys: readonly string[];
  private readonly scopeTokens: readonly string[];
  /** Last number per scope, in a mutable cell so the hot path does one map lookup. */
  private readonly last = new Map<string, { seq: number }>();
  private lastGlobal = Number.NaN;
  private readonly onGap: (gap: GapReport) => void;
  readonly stats: SequenceStats = { gaps: 0, missing: 0, outOfOrder: 0, slowPath: 0 };
  // Reused scratch for the fast path: `count` entries of `seqs` and of each `scopes[k]` are valid
  // (counters instead of `length = 0`, which is a slow runtime call).
  private readonly seqs: number[] = [];
  private readonly scopes: string[][] = [];
  private count = 0;

  /** `scope`: 'global' or the names of the key fields that partition the sequence. */
  constructor(field: string, scope: 'global' | readonly string[], onGap: (gap: GapReport) => void) {
    this.field = field;
    this.fieldName = JSON.stringify(field);
    this.fieldToken = `${this.fieldName}:`;
    this.scopeKeys = scope === GLOBAL ? [] : scope;
    this.scopeTokens = this.scopeKeys.map((k) => `${JSON.stringify(k)}:`);
    for (let k = 0; k < this.scopeKeys.length; k++) this.scopes.push([]);
    this.onGap = onGap;
  }

  /** Forget every sequence (a new connection starts a new sequence space). */
  reset(): void {
    this.last.clear();
    this.lastGlobal = Number.NaN;
  }

  /** Check the sequence numbers in one text message. */
  observe(text: string): void {
    if (!this.scan(text)) {
      this.stats.slowPath++;
      this.slow(text);
      return;
    }
    const n = this.count;
    if (this.scopeKeys.length === 0) {
      for (let i = 0; i < n; i++) this.checkGlobal(this.seqs[i]);
      return;
    }
    if (this.scopeKeys.length === 1) {
      const values = this.scopes[0];
      for (let i = 0; i < n; i++) this.check(values[i], this.seqs[i]);
      return;
    }
    for (let i = 0; i < n; i++) {
      let key = this.scopes[0][i];
      for (let k = 1; k < this.scopes.length; k++) key += `|${this.scopes[k][i]}`;
      this.check(key, this.seqs[i]);
    }
  }

  private checkGlobal(seq: number): void {
    const last = this.lastGlobal;
    if (Number.isNaN(last) || seq === last + 1) {
      this.lastGlobal = seq;
      return;
    }
    this.jump(GLOBAL, last, seq);
    if (seq > last) this.lastGlobal = seq;
  }

  private check(scope: string, seq: number): void {
    const cell = this.last.get(scope);
    if (cell === undefined) {
      this.last.set(scope, { seq });
      return;
    }
    const last = cell.seq;
    if (seq === last + 1) {
      cell.seq = seq;
      return;
    }
    this.jump(scope, last, seq);
    if (seq > last) cell.seq = seq;
  }

  private jump(scope: string, last: number, seq: number): void {
    if (seq <= last) {
      this.stats.outOfOrder++;
      return;
    }
    this.stats.gaps++;
    this.stats.missing += seq - last - 1;
    this.onGap({ scope, expected: last + 1, got: seq });
  }

  /** Position of the value after `"key":` at `at` (spaces after the colon skipped), or -1 if escaped. */
  private static valueAt(text: string, at: number, tokenLength: number): number {
    if (at > 0 && text.charCodeAt(at - 1) === 92) return -1;
    let p = at + tokenLength;
    while (p < text.length && isSpace(text.charCodeAt(p))) p++;
    return p;
  }

  /**
   * Fill `seqs` and `scopes` from the text; false when the fast path cannot be trusted. Keys are
   * found as `"key":` (compact JSON, as feeds send it); a key written with a space before its
   * colon sends the message to the slow path.
   */
  private scan(text: string): boolean {
    const seqs = this.seqs;
    let n = 0;
    this.count = 0;
    // One object: its first `"seq":` is the one (a repeated key in one object is not trusted by
    // JSON either); several: every occurrence, paired in order. Braces inside strings or nested
    // objects make the counts disagree below and send the message to the exact path.
    const objects = SequenceTracker.braces(text);
    const all = objects !== 1;
    const token = this.fieldToken;
    for (let at = text.indexOf(token); at >= 0; at = all ? text.indexOf(token, at + token.length) : -1) {
      let q = SequenceTracker.valueAt(text, at, token.length);
      if (q < 0) return false;
      const quoted = text.charCodeAt(q) === 34;
      if (quoted) q++;
      const s = q;
      let v = 0;
      let c = text.charCodeAt(q);
      while (c >= 48 && c <= 57) {
        v = v * 10 + (c - 48);
        c = text.charCodeAt(++q);
      }
      if (q === s || q - s > 15) return false;
      // Not a plain integer (a fraction, exponent or sign): leave it to the exact path.
      if (quoted ? c !== 34 : c !== 44 && c !== 125 && !isSpace(c)) return false;
      seqs[n++] = v;
    }
    if (n === 0) {
      // No `"seq":` anywhere; a spaced-out `"seq" :` still needs the exact path.
      return text.indexOf(this.fieldName) < 0;
    }
    // Only flat objects that each carry one sequence are paired by position.
    if (objects !== n) return false;
    for (let k = 0; k < this.scopeTokens.length; k++) {
      const values = this.scopes[k];
      let m = 0;
      const tok = this.scopeTokens[k];
      for (let at = text.indexOf(tok); at >= 0; at = all ? text.indexOf(tok, at + tok.length) : -1) {
        const p = SequenceTracker.valueAt(text, at, tok.length);
        if (p < 0) return false;
        if (text.charCodeAt(p) === 34) {
          const end = text.indexOf('"', p + 1);
          if (end < 0) return false;
          const v = text.slice(p + 1, end);
          if (v.indexOf('\\') >= 0) return false;
          values[m++] = v;
        } else {
          let q = p;
          while (q < text.length) {
            const c = text.charCodeAt(q);
            if (c === 44 || c === 125 || c === 93 || isSpace(c)) break;
            q++;
          }
          values[m++] = text.slice(p, q);
        }
      }
      if (m !== n) return false;
    }
    this.count = n;
    return true;
  }

  /** Number of `{` in the text: equal to the number of sequences only for flat objects. */
  private static braces(text: string): number {
    let n = 0;
    for (let at = text.indexOf('{'); at >= 0; at = text.indexOf('{', at + 1)) n++;
    return n;
  }

  private slow(text: string): void {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return;
    }
    const items = Array.isArray(value) ? value : [value];
    for (const item of items) {
      if (typeof item !== 'object' || item === null || Array.isArray(item)) continue;
      const obj = item as Record<string, unknown>;
      const raw = obj[this.field];
      const seq =
        typeof raw === 'number' ? raw : typeof raw === 'string' && raw !== '' ? Number(raw) : Number.NaN;
      if (!Number.isFinite(seq)) continue;
      if (this.scopeKeys.length === 0) {
        this.checkGlobal(seq);
        continue;
      }
      let key = '';
      for (let k = 0; k < this.scopeKeys.length; k++) {
        const v = obj[this.scopeKeys[k]];
        key += (k > 0 ? '|' : '') + (typeof v === 'string' ? v : JSON.stringify(v ?? null));
      }
      this.check(key, seq);
    }
  }
}
