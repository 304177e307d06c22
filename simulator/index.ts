/**
 * The built-in exchange simulator: seeded WebSocket feed and REST history with fault injection.
 * Public surface for tests, the demo, benchmarks and `polaroid simulate`.
 */
export { FAULT_KINDS, type Fault, type FaultKind, parseFault, type ScheduledFault } from './faults.ts';
export { encodeTextFrame, encodeTextFrames, frameHeaderLength, writeTextFrameHeader } from './frames.ts';
export {
  CHANNELS,
  type Channel,
  HistoryGoneError,
  Market,
  type MarketConfig,
  type NumberFormat,
  newTick,
  type Tick,
  TickEncoder,
  type TradeRow,
} from './market.ts';
export { parseSimulateArgs, SIMULATE_USAGE, SimulateArgsError } from './options.ts';
export { type Kline, type Page, RestError } from './rest.ts';
export {
  type ClientStats,
  type DroppedTick,
  ExchangeSimulator,
  type SimulatorOptions,
  type SimulatorStats,
} from './server.ts';
