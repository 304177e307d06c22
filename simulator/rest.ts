/**
 * REST history of the simulated market, read from the same deterministic ticks as the feed.
 *
 * - `GET /api/v1/trades?symbol=&start=&end=&limit=&cursor=`: trades of one symbol with
 *   start <= ts < end (ms), oldest first, at most `limit` (default 500, max 1000). The response is
 *   `{data: TradeRow[], next: string | null}`; pass `next` as `cursor` (with the same symbol and
 *   end) for the following page. Pages cover every row exactly once.
 * - `GET /api/v1/klines?symbol=&interval=&start=&end=&limit=&cursor=`: OHLCV bars of the trades,
 *   buckets aligned to multiples of `interval` since the epoch (`1s`, `1m`, `5m`, `1h`, `1d`, ...),
 *   bar open times in [start, end). Bars without trades are omitted. A bar that is still open at
 *   the feed's current time has `closed: false`. Same `{data, next}` paging.
 *
 * History ends at the last tick the feed has produced: like a venue, no future data.
 */
import { parseDuration } from '../config/units.ts';
import { PolaroidError } from '../pipeline/errors.ts';
import { type Market, newTick, TRADE, type TradeRow, tradeRow } from './market.ts';

export interface Kline {
  /** Open time of the bar, epoch ms. */
  t: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  trades: number;
  closed: boolean;
}

export interface Page<T> {
  data: T[];
  next: string | null;
}

export class RestError extends PolaroidError {
  readonly code = 'SIM_BAD_REQUEST';
  readonly retriable = false;
  readonly status = 400;
}

const DEFAULT_LIMIT = 500;
const MAX_LIMIT = 1000;

function intParam(q: URLSearchParams, name: string, fallback?: number): number {
  const raw = q.get(name);
  if (raw === null || raw === '') {
    if (fallback === undefined) throw new RestError(`missing ${name}`);
    return fallback;
  }
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) throw new RestError(`${name} must be a non-negative integer`);
  return n;
}

function symbolIndex(market: Market, q: URLSearchParams): number {
  const symbol = q.get('symbol');
  if (!symbol) throw new RestError('missing symbol');
  const s = market.config.symbols.indexOf(symbol);
  if (s < 0) throw new RestError(`unknown symbol ${symbol}`);
  return s;
}

function limitParam(q: URLSearchParams): number {
  const limit = intParam(q, 'limit', DEFAULT_LIMIT);
  if (limit < 1 || limit > MAX_LIMIT) throw new RestError(`limit must be between 1 and ${MAX_LIMIT}`);
  return limit;
}

/** Trades page. `live` is the index of the next tick the feed will produce (history ends before it). */
export function tradesPage(market: Market, live: number, q: URLSearchParams): Page<TradeRow> {
  const s = symbolIndex(market, q);
  const limit = limitParam(q);
  const end = intParam(q, 'end', Number.MAX_SAFE_INTEGER);
  const cursor = q.get('cursor');
  let from: number;
  if (cursor !== null) {
    from = Number(cursor);
    if (!Number.isSafeInteger(from) || from < 0) throw new RestError('bad cursor');
  } else {
    from = market.indexAtOrAfter(intParam(q, 'start', 0));
  }
  const data: TradeRow[] = [];
  if (from >= live) return { data, next: null };
  const replay = market.at(from);
  const tick = newTick();
  while (replay.index < live) {
    replay.next(tick);
    if (tick.ts >= end) return { data, next: null };
    if (tick.kind !== TRADE || tick.symbol !== s) continue;
    data.push(tradeRow(market.config.symbols, tick));
    if (data.length === limit) {
      return { data, next: replay.index < live ? String(replay.index) : null };
    }
  }
  return { data, next: null };
}

function intervalMs(q: URLSearchParams): number {
  const text = q.get('interval');
  if (!text) throw new RestError('missing interval');
  const d = parseDuration(text);
  if (d?.months !== 0) throw new RestError('interval must be a fixed duration such as 1s, 1m, 1h, 1d');
  const ms = d.micros / 1000 + d.days * 86_400_000;
  if (!Number.isInteger(ms) || ms < 1000) throw new RestError('interval must be a whole number of seconds');
  return ms;
}

/** Klines page; the cursor is the open time of the next bar to return. */
export function klinesPage(market: Market, live: number, q: URLSearchParams): Page<Kline> {
  const s = symbolIndex(market, q);
  const every = intervalMs(q);
  const limit = limitParam(q);
  const end = intParam(q, 'end', Number.MAX_SAFE_INTEGER);
  const cursor = q.get('cursor');
  const startRaw = cursor !== null ? Number(cursor) : intParam(q, 'start', 0);
  if (!Number.isSafeInteger(startRaw) || startRaw < 0) throw new RestError('bad cursor');
  // The first bar whose open time is at or after start.
  const start = Math.ceil(startRaw / every) * every;
  const data: Kline[] = [];
  const liveTs = live > 0 ? market.tsOf(live - 1) : market.config.startTime;
  const first = market.indexAtOrAfter(start);
  if (first >= live || start >= end) return { data, next: null };
  const replay = market.at(first);
  const tick = newTick();
  let bar: Kline | undefined;
  while (replay.index < live) {
    replay.next(tick);
    if (tick.kind !== TRADE || tick.symbol !== s) continue;
    const t = Math.floor(tick.ts / every) * every;
    if (t >= end) break;
    if (!bar || bar.t !== t) {
      if (bar) {
        data.push(bar);
        if (data.length === limit) return { data, next: String(t) };
      }
      bar = {
        t,
        open: tick.price,
        high: tick.price,
        low: tick.price,
        close: tick.price,
        volume: 0,
        trades: 0,
        closed: true,
      };
    }
    if (tick.price > bar.high) bar.high = tick.price;
    if (tick.price < bar.low) bar.low = tick.price;
    bar.close = tick.price;
    bar.volume = Math.round((bar.volume + tick.size) * 1e4) / 1e4;
    bar.trades++;
  }
  if (bar) {
    bar.closed = bar.t + every <= liveTs;
    data.push(bar);
  }
  return { data, next: null };
}
