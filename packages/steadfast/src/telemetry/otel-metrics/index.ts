import { createNoopMeter, type Meter, type MeterProvider, metrics } from '@opentelemetry/api';
import type { TokenEvents } from '../../auth/events.js';
import { InvalidConfigurationError } from '../../errors.js';
import type { ClientEvents } from '../../pipeline/client-events.js';
import type { Disposable } from '../../pipeline/event.js';
import type { AdmissionLayers } from '../admission.js';
import type { ResolvedTelemetry } from '../options.js';
import { acquireShared } from '../shared.js';
import type { ToolboxLayers } from '../toolbox.js';
import { PACKAGE_NAME, PACKAGE_VERSION } from '../version.js';
import { subscribeClientInstruments } from './client-instruments.js';
import { type OtelInstruments, otelInstrumentsFor } from './instruments.js';
import { subscribeTokenInstruments } from './token-instruments.js';

export { OTEL_INSTRUMENT_NAMES, type OtelInstruments } from './instruments.js';

const FIELD = 'telemetry.otelMetrics.meterProvider';
/** What the adapter calls on a meter. */
const METER_METHODS = ['createHistogram', 'createCounter', 'createObservableGauge'] as const;

/** The SDK's meter from `provider`; a provider whose `getMeter` gives no meter is a configuration error. */
function meterOf(provider: MeterProvider): Meter {
  let meter: Partial<Meter> | undefined;
  try {
    meter = provider.getMeter(PACKAGE_NAME, PACKAGE_VERSION);
  } catch {
    meter = undefined;
  }
  if (!METER_METHODS.every((m) => typeof meter?.[m] === 'function')) {
    throw new InvalidConfigurationError(
      FIELD,
      'must be an OpenTelemetry MeterProvider: its getMeter() gave no Meter',
    );
  }
  return meter as Meter;
}

/**
 * The instruments a client records into, from its resolved `telemetry.otelMetrics`:
 * `undefined` when it is off, or when the meter is the API's no-op meter (no provider
 * registered): then nothing is subscribed and no metrics code runs per call. Throws
 * `InvalidConfigurationError` for a provider that gives no meter.
 */
export function otelInstrumentsOf(
  options: ResolvedTelemetry['otelMetrics'],
): OtelInstruments | undefined {
  if (!options) return undefined;
  const meter = meterOf(options.meterProvider ?? metrics.getMeterProvider());
  if (meter === createNoopMeter()) return undefined;
  return otelInstrumentsFor(meter);
}

/**
 * Subscribe the OpenTelemetry adapter to a client's events, and to its token manager's
 * once per token manager and meter (clients sharing an `Authorization` never double-count).
 */
export function subscribeOtelMetrics(
  instruments: OtelInstruments,
  events: ClientEvents,
  client: string,
  origins: readonly string[],
  tokenEvents: TokenEvents | undefined,
  admission: AdmissionLayers,
  toolbox: ToolboxLayers,
): Disposable[] {
  const subscriptions = subscribeClientInstruments(
    events,
    instruments,
    client,
    origins,
    admission,
    toolbox,
  );
  if (tokenEvents) {
    subscriptions.push(
      acquireShared(instruments, tokenEvents, () =>
        subscribeTokenInstruments(tokenEvents, instruments),
      ),
    );
  }
  return subscriptions;
}
