import { startTelemetry } from '@steadfast/telemetry-node';
import { InvalidConfigurationError } from 'steadfast';
import { describe, expect, it } from 'vitest';

// [what, startTelemetry options, field]: refused before the OpenTelemetry SDK starts.
const BAD_START: [string, unknown, string][] = [
  ['null', null, 'options'],
  ['an unknown key', { servicename: 'x' }, 'servicename'],
  ['an empty service name', { serviceName: '' }, 'serviceName'],
  ['a numeric service name', { serviceName: 1 }, 'serviceName'],
  ['instrumentations as an object', { instrumentations: {} }, 'instrumentations'],
  ['handleSignals as a string', { handleSignals: 'false' }, 'handleSignals'],
  ['a negative timeout', { shutdownTimeoutMs: -1 }, 'shutdownTimeoutMs'],
  ['a timeout past setTimeout', { shutdownTimeoutMs: 2 ** 31 }, 'shutdownTimeoutMs'],
  ['a string timeout', { shutdownTimeoutMs: '5000' }, 'shutdownTimeoutMs'],
  ['a null sdk', { sdk: null }, 'sdk'],
];

describe('startTelemetry options', () => {
  it.each(BAD_START)('rejects %s naming the field', async (_, options, field) => {
    const error = await startTelemetry(options as never).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InvalidConfigurationError);
    expect((error as InvalidConfigurationError).field).toBe(field);
  });
});
