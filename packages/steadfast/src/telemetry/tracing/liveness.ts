import { context, ProxyTracerProvider, type TracerProvider, trace } from '@opentelemetry/api';

/**
 * The class of the API's no-op provider, which a `ProxyTracerProvider` delegates to until
 * the app registers a real one (the API exports the proxy, not the no-op provider itself).
 */
const NoopTracerProvider = new ProxyTracerProvider().getDelegate().constructor;

/**
 * A per-call test of whether a span could record or carry anything: false while `provider`
 * is the API's global proxy with no provider registered behind it and no span is active
 * (nothing to continue), so the tracing layers can hand the call through without building
 * attributes or a no-op span. A provider registered later is seen on the next call. Any
 * other provider — one passed in, or a proxy of another copy of the API — counts as live:
 * correct, only not as cheap.
 */
export function tracingLiveness(provider: TracerProvider): () => boolean {
  const proxy = provider as Partial<Pick<ProxyTracerProvider, 'getDelegate'>>;
  if (!(provider instanceof ProxyTracerProvider) || typeof proxy.getDelegate !== 'function') {
    return () => true;
  }
  const delegateOf = proxy.getDelegate.bind(provider);
  return () =>
    !(delegateOf() instanceof NoopTracerProvider) || trace.getSpan(context.active()) !== undefined;
}
