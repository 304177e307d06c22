/**
 * The simulated market: a deterministic stream of trades and top-of-book quotes for N symbols.
 *
 * Tick i is a pure function of (seed, symbols, rate, startTime, i): the symbol, the kind (trade or
 * quote), the random-walk price and the sizes come from one seeded PRNG consumed in a fixed order,
 * and the exchange timestamp is `startTime + floor(i * 1000 / rate)` ms, so simulated time advances
 * with the rate. Sequence numbers count per symbol and per channel from 1. The WebSocket feed and
 * the REST history read the same ticks; the REST side replays them from periodic checkpoints.
 */

export type Channel = 'trades' | 'quotes';
export const CHANNELS: readonly Channel[] = ['trades', 'quotes'];

/** How prices and sizes are written in JSON: numbers, strings (as many venues do), or both. */
export type NumberFormat = 'number' | 'string' | 'mixed';

export interface MarketConfig {
  symbols: readonly string[];
  /** Ticks per second of simulated time, all symbols together. */
  rate: number;
  seed: number;
  /** Exchange time of tick 0, epoch ms. */
  startTime: number;
  /** Share of ticks that are trades (the rest are quotes); default 0.4. */
  tradeShare?: number;
  /** Checkpoints kept for replays (each covers 4096 ticks); default 4096, about 16.8M ticks. */
  maxCheckpoints?: number;
}

/** One tick, written into a reused object by {@link Market.next}. */
export interface Tick {
  /** Position in the deterministic stream. */
  index: number;
  kind: 0 | 1;
  /** Index into the symbols list. */
  symbol: number;
  seq: number;
  ts: number;
  /** Trade price, or best bid for a quote. */
  price: number;
  /** Trade size, or bid size. */
  size: number;
  /** Best ask (quotes). */
  ask: number;
  /** Ask size (quotes). */
  askSize: number;
  /** 0 buy, 1 sell (trades). */
  side: 0 | 1;
}

export const TRADE = 0;
export const QUOTE = 1;

export function newTick(): Tick {
  return { index: 0, kind: 0, symbol: 0, seq: 0, ts: 0, price: 0, size: 0, ask: 0, askSize: 0, side: 0 };
}

interface Checkpoint {
  index: number;
  rng: number;
  mids: Float64Array;
  seqs: Float64Array;
}

/** Ticks between checkpoints kept for REST replays. */
const CHECKPOINT_EVERY = 4096;

/**
 * Checkpoints shared by a market and its replays. Only the newest `max` are kept, so a long run
 * at a high rate holds bounded memory; REST history reaches back `max * 4096` ticks.
 */
interface History {
  /** Checkpoint number (index / CHECKPOINT_EVERY) of `list[0]`. */
  base: number;
  list: Checkpoint[];
  max: number;
}

/** Asked for a tick older than the retained history. */
export class HistoryGoneError extends RangeError {
  readonly code = 'SIM_HISTORY_GONE';
  readonly retriable = false;
}

function round(x: number, decimals: number): number {
  const f = 10 ** decimals;
  return Math.round(x * f) / f;
}

/**
 * The generator. `next()` advances one tick; `at(index)` gives a replaying copy positioned at any
 * past index (from the nearest checkpoint), which REST uses.
 */
export class Market {
  readonly config: Required<MarketConfig>;
  private rngState: number;
  private readonly mids: Float64Array;
  /** Last sequence number per symbol and channel: [trades of symbol s at 2s, quotes at 2s+1]. */
  private readonly seqs: Float64Array;
  private nextIndex = 0;
  private readonly history: History;
  /** Decimal places of prices per symbol (cents for big prices, finer for small ones). */
  readonly priceDecimals: Int32Array;
  private readonly stepScale: number;

  constructor(config: MarketConfig, history?: History, from?: Checkpoint) {
    if (config.symbols.length === 0) throw new RangeError('the market needs at least one symbol');
    if (!(config.rate > 0)) throw new RangeError(`rate must be positive (got ${config.rate})`);
    this.config = { tradeShare: 0.4, maxCheckpoints: 4096, ...config };
    const n = config.symbols.length;
    this.history = history ?? { base: 0, list: [], max: Math.max(1, this.config.maxCheckpoints) };
    this.stepScale = 0.001 * Math.sqrt(n / config.rate);
    this.priceDecimals = new Int32Array(n);
    this.rngState = config.seed >>> 0;
    this.mids = new Float64Array(n);
    this.seqs = new Float64Array(2 * n);
    for (let s = 0; s < n; s++) {
      // Starting prices spread over 1 .. 100 000, drawn from the same seeded stream.
      this.mids[s] = round(10 ** (this.random() * 5), 2) + 1;
      this.priceDecimals[s] = this.mids[s] >= 100 ? 2 : 4;
    }
    if (from) {
      this.rngState = from.rng;
      this.mids.set(from.mids);
      this.seqs.set(from.seqs);
      this.nextIndex = from.index;
    } else if (this.history.list.length === 0) {
      this.checkpoint();
    }
  }

  /** Index of the next tick `next()` will produce. */
  get index(): number {
    return this.nextIndex;
  }

  /** Exchange time of tick `i`, ms. */
  tsOf(i: number): number {
    return this.config.startTime + Math.floor((i * 1000) / this.config.rate);
  }

  /** The oldest tick index a replay can start from. */
  get oldestIndex(): number {
    return this.history.base * CHECKPOINT_EVERY;
  }

  /** The first tick index whose timestamp is at or after `ts`. */
  indexAtOrAfter(ts: number): number {
    if (ts <= this.config.startTime) return 0;
    let i = Math.max(0, Math.floor(((ts - this.config.startTime) * this.config.rate) / 1000) - 1);
    while (this.tsOf(i) < ts) i++;
    return i;
  }

  /** A copy that replays from the checkpoint at or before `index` and is positioned at `index`. */
  at(index: number): Market {
    const h = this.history;
    const k = Math.min(Math.floor(index / CHECKPOINT_EVERY) - h.base, h.list.length - 1);
    if (k < 0) {
      throw new HistoryGoneError(
        `tick ${index} is older than the retained history (from ${h.base * CHECKPOINT_EVERY})`,
      );
    }
    const replay = new Market(this.config, h, h.list[k]);
    const tick = newTick();
    while (replay.nextIndex < index) replay.next(tick);
    return replay;
  }

  private random(): number {
    this.rngState = (this.rngState + 0x6d2b79f5) >>> 0;
    let t = this.rngState;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  private checkpoint(): void {
    const h = this.history;
    if (h.list.length >= h.max) {
      h.list.shift();
      h.base++;
    }
    h.list.push({
      index: this.nextIndex,
      rng: this.rngState,
      mids: this.mids.slice(),
      seqs: this.seqs.slice(),
    });
  }

  /** Produce the next tick into `out` (reused to avoid an object per tick). */
  next(out: Tick): Tick {
    const i = this.nextIndex;
    const n = this.config.symbols.length;
    const s = Math.min(n - 1, Math.floor(this.random() * n));
    const isTrade = this.random() < this.config.tradeShare;
    // Random walk, a sum of uniforms (roughly normal), scaled so each symbol moves about 5 bp per
    // simulated second whatever the rate.
    const step = (this.random() + this.random() + this.random() - 1.5) * this.stepScale;
    const dec = this.priceDecimals[s];
    const tickSize = 10 ** -dec;
    const mid = Math.max(tickSize * 10, this.mids[s] * (1 + step));
    this.mids[s] = mid;
    const halfSpread = Math.max(tickSize, round(mid * 0.00005, dec));
    const u = this.random();
    const v = this.random();
    out.index = i;
    out.symbol = s;
    out.ts = this.tsOf(i);
    if (isTrade) {
      out.kind = TRADE;
      out.side = u < 0.5 ? 0 : 1;
      out.price = round(out.side === 0 ? mid + halfSpread : mid - halfSpread, dec);
      out.size = round(0.0001 + v * v * 5, 4);
      out.ask = 0;
      out.askSize = 0;
      out.seq = ++this.seqs[2 * s];
    } else {
      out.kind = QUOTE;
      out.side = 0;
      out.price = round(mid - halfSpread, dec);
      out.ask = round(mid + halfSpread, dec);
      out.size = round(0.01 + u * 10, 4);
      out.askSize = round(0.01 + v * 10, 4);
      out.seq = ++this.seqs[2 * s + 1];
    }
    this.nextIndex = i + 1;
    if (
      this.nextIndex % CHECKPOINT_EVERY === 0 &&
      this.history.base + this.history.list.length === this.nextIndex / CHECKPOINT_EVERY
    ) {
      this.checkpoint();
    }
    return out;
  }
}

/**
 * JSON text of ticks, with per-symbol prefixes built once so a tick costs a few string joins.
 * Trades: `{"type":"trade","symbol","seq","ts","price","size","side"}`; quotes:
 * `{"type":"quote","symbol","seq","ts","bid","bid_size","ask","ask_size"}`.
 */
export class TickEncoder {
  private readonly tradePrefix: string[];
  private readonly quotePrefix: string[];
  private readonly format: NumberFormat;

  constructor(symbols: readonly string[], format: NumberFormat = 'number') {
    this.format = format;
    this.tradePrefix = symbols.map((s) => `{"type":"trade","symbol":${JSON.stringify(s)},"seq":`);
    this.quotePrefix = symbols.map((s) => `{"type":"quote","symbol":${JSON.stringify(s)},"seq":`);
  }

  /** Whether this tick's decimals are written as strings. `mixed`: ticks with an odd seq. */
  private quoted(t: Tick): boolean {
    return this.format === 'string' || (this.format === 'mixed' && (t.seq & 1) === 1);
  }

  encode(t: Tick): string {
    const q = this.quoted(t) ? '"' : '';
    if (t.kind === TRADE) {
      return `${this.tradePrefix[t.symbol]}${t.seq},"ts":${t.ts},"price":${q}${t.price}${q},"size":${q}${t.size}${q},"side":"${t.side === 0 ? 'buy' : 'sell'}"}`;
    }
    return `${this.quotePrefix[t.symbol]}${t.seq},"ts":${t.ts},"bid":${q}${t.price}${q},"bid_size":${q}${t.size}${q},"ask":${q}${t.ask}${q},"ask_size":${q}${t.askSize}${q}}`;
  }
}

/** A trade as REST returns it (numbers always numeric there). */
export interface TradeRow {
  symbol: string;
  seq: number;
  ts: number;
  price: number;
  size: number;
  side: 'buy' | 'sell';
}

export function tradeRow(symbols: readonly string[], t: Tick): TradeRow {
  return {
    symbol: symbols[t.symbol],
    seq: t.seq,
    ts: t.ts,
    price: t.price,
    size: t.size,
    side: t.side === 0 ? 'buy' : 'sell',
  };
}
