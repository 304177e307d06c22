/**
 * Every error Polaroid raises is a PolaroidError: a stable code, a retriable flag, and the class
 * name as its name (so logs and nack reasons say what failed, not just "Error").
 */
import { describe, expect, it } from 'vitest';
import { UsageError } from '../cli/io.ts';
import { ConfigError } from '../config/issues.ts';
import { ArrowFileError } from '../connectors/arrow_file/sink.ts';
import { ListenAddressError } from '../server/http.ts';
import { SimulateArgsError } from '../simulator/options.ts';
import { RestError } from '../simulator/rest.ts';
import { AsofConfigError } from '../timeseries/asof-columns.ts';
import { ExprError } from '../timeseries/expr/parse.ts';
import { AsofUnsortedError } from '../timeseries/kernels/asof.ts';
import { WindowConfigError } from '../timeseries/kernels/calendar.ts';
import { UnsortedInputError } from '../timeseries/kernels/resample.ts';
import { PoolConfigError, PoolTaskError, PoolTimeoutError } from '../timeseries/parallel/pool.ts';
import { ResampleInputError } from '../timeseries/resample.ts';
import { OpenBarsAtEndError } from '../timeseries/resample-stream.ts';
import { RollingConfigError, RollingUnsortedError } from '../timeseries/rolling.ts';
import { DecodeConfigError } from './decode/json.ts';
import {
  DeadLetterWriteError,
  OperatorFailedError,
  PipelineStateError,
  PolaroidError,
  QueueFullError,
  ShutdownAbandonedError,
  UnknownComponentError,
  UnknownStreamError,
} from './errors.ts';
import { RetryAbortedError, RetryExhaustedError } from './retry.ts';

const cases: [PolaroidError, string, string, boolean][] = [
  [new QueueFullError('m'), 'QueueFullError', 'POLAROID_QUEUE_FULL', true],
  [new ShutdownAbandonedError('m'), 'ShutdownAbandonedError', 'POLAROID_SHUTDOWN_ABANDONED', true],
  [new DeadLetterWriteError('m'), 'DeadLetterWriteError', 'POLAROID_DEAD_LETTER_WRITE', true],
  [new UnknownComponentError('m'), 'UnknownComponentError', 'POLAROID_UNKNOWN_COMPONENT', false],
  [new UnknownStreamError('m'), 'UnknownStreamError', 'POLAROID_UNKNOWN_STREAM', false],
  [new OperatorFailedError('m'), 'OperatorFailedError', 'POLAROID_OPERATOR_FAILED', false],
  [new PipelineStateError('m'), 'PipelineStateError', 'POLAROID_PIPELINE_STATE', false],
  [new RetryExhaustedError(3, new Error('x')), 'RetryExhaustedError', 'RETRY_EXHAUSTED', false],
  [new RetryAbortedError(), 'RetryAbortedError', 'RETRY_ABORTED', false],
  [new DecodeConfigError('m'), 'DecodeConfigError', 'DECODE_CONFIG', false],
  [new ConfigError([]), 'ConfigError', 'CONFIG_INVALID', false],
  [new ListenAddressError('m'), 'ListenAddressError', 'HTTP_BAD_LISTEN_ADDRESS', false],
  [new SimulateArgsError('m'), 'SimulateArgsError', 'SIM_BAD_ARGS', false],
  [new RestError('m'), 'RestError', 'SIM_BAD_REQUEST', false],
  [new UsageError('m'), 'UsageError', 'CLI_USAGE', false],
  [new ArrowFileError('ARROW_FILE_IO', 'm', true), 'ArrowFileError', 'ARROW_FILE_IO', true],
  [new AsofUnsortedError('m', 'left', 2, 1, -1), 'AsofUnsortedError', 'ASOF_UNSORTED', false],
  [new AsofConfigError('m'), 'AsofConfigError', 'ASOF_CONFIG', false],
  [new UnsortedInputError(2, 0, 1, 5), 'UnsortedInputError', 'RESAMPLE_UNSORTED', false],
  [new WindowConfigError('m'), 'WindowConfigError', 'WINDOW_CONFIG', false],
  [new ResampleInputError('RESAMPLE_NULL_TIME', 'm'), 'ResampleInputError', 'RESAMPLE_NULL_TIME', false],
  [new OpenBarsAtEndError('m'), 'OpenBarsAtEndError', 'POLAROID_RESAMPLE_OPEN_AT_END', true],
  [new ExprError('POLAROID_EXPR_SYNTAX', 'm', 'a +', 2), 'ExprError', 'POLAROID_EXPR_SYNTAX', false],
  [new RollingConfigError('m'), 'RollingConfigError', 'POLAROID_ROLLING_CONFIG', false],
  [new RollingUnsortedError('m'), 'RollingUnsortedError', 'POLAROID_ROLLING_UNSORTED', false],
  [new PoolTaskError('t', 'RangeError', 'm'), 'PoolTaskError', 'POOL_TASK_FAILED', false],
  [new PoolTimeoutError('t', 5), 'PoolTimeoutError', 'POOL_TIMEOUT', true],
  [new PoolConfigError('m'), 'PoolConfigError', 'POOL_CONFIG', false],
];

describe('error classes', () => {
  it.each(cases)(
    '%#: %s is a PolaroidError named %s with code %s (retriable %s)',
    (err, name, code, retriable) => {
      expect(err).toBeInstanceOf(PolaroidError);
      expect(err).toBeInstanceOf(Error);
      expect(err.name).toBe(name);
      expect(err.code).toBe(code);
      expect(typeof err.code).toBe('string');
      expect(err.code.length).toBeGreaterThan(0);
      expect(err.retriable).toBe(retriable);
    },
  );
});
