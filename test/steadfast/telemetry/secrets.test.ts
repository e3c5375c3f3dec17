import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DiagLogLevel, diag } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientCredentials } from '../../../packages/steadfast/src/auth/client-credentials.js';
import { createClient } from '../../../packages/steadfast/src/index.js';
import { renderMetrics } from '../../../packages/steadfast/src/telemetry/index.js';
import { createOpenMetricsRegistry } from '../../../packages/steadfast/src/telemetry/metrics/registry.js';
import { startScriptedServer } from '../../helpers/http-server.js';
import { FAST_RETRY, setUpTracing, startTokenServer, type Tracing } from './support.js';

let tracing: Tracing;
const logs: string[] = [];
const restore: (() => void)[] = [];

beforeAll(() => {
  tracing = setUpTracing();
  // Every log line of the run: stdout, stderr, process warnings and OpenTelemetry's diag log.
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream);
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      logs.push(String(chunk));
      return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof stream.write;
    restore.push(() => {
      stream.write = write;
    });
  }
  const onWarning = (w: Error) => logs.push(`${w.name}: ${w.message}`);
  process.on('warning', onWarning);
  restore.push(() => process.off('warning', onWarning));
  const line = (...args: unknown[]) => logs.push(args.map(String).join(' '));
  diag.setLogger(
    { error: line, warn: line, info: line, debug: line, verbose: line },
    DiagLogLevel.ALL,
  );
  restore.push(() => diag.disable());
});

afterAll(() => {
  for (const r of restore) r();
});

/** A token endpoint that rejects the client and echoes its secret back, as a careless IdP might. */
async function echoingIdp(secret: string): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ error: 'invalid_client', error_description: `bad secret ${secret}` }),
      );
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('nothing secret is emitted', () => {
  it('no span, metric line or log line of a run carries the token or the client secret', async () => {
    const tokenPrefix = `tok${randomBytes(8).toString('hex')}`;
    const secret = `cs${randomBytes(12).toString('hex')}`;
    const querySecret = `qs${randomBytes(8).toString('hex')}`;
    const registry = createOpenMetricsRegistry();
    const api = await startScriptedServer([
      { status: 503 },
      { status: 401, headers: { 'www-authenticate': 'Bearer error="invalid_token"' } },
      { status: 200 },
    ]);
    const idp = await startTokenServer(tokenPrefix);
    const badIdp = await echoingIdp(secret);
    const telemetry = { tracing: { tracerProvider: tracing.provider }, metrics: { registry } };
    const retry = FAST_RETRY;
    const good = createClient({
      name: 'good',
      baseUrl: api.url,
      retry,
      telemetry,
      auth: clientCredentials({ tokenUrl: idp.url, clientId: 'worker', clientSecret: secret }),
    });
    const bad = createClient({
      name: 'bad',
      baseUrl: api.url,
      retry,
      telemetry,
      auth: clientCredentials({
        tokenUrl: badIdp.url,
        clientId: 'worker',
        clientSecret: secret,
        credential: 'bad',
      }),
    });
    try {
      await (await good.fetch(`/data?api_key=${querySecret}&page=2`)).text();
      await expect(bad.fetch('/data')).rejects.toThrow();
    } finally {
      await good.close();
      await bad.close();
      await api.close();
      await idp.close();
      await badIdp.close();
    }

    // The secrets really travelled: the run would have had something to leak.
    const tokens = idp.issued;
    expect(tokens).toHaveLength(2);
    expect(api.requests.map((r) => r.headers.authorization)).toEqual(
      expect.arrayContaining([`Bearer ${tokens[0]}`, `Bearer ${tokens[1]}`]),
    );
    const basic = Buffer.from(`worker:${secret}`).toString('base64');
    expect(idp.authorizations[0]).toBe(`Basic ${basic}`);

    const spans = tracing.spans().map((s) => ({
      name: s.name,
      attributes: s.attributes,
      status: s.status,
      events: s.events.map((e) => ({ name: e.name, attributes: e.attributes })),
      links: s.links.map((l) => l.attributes),
      resource: s.resource.attributes,
    }));
    expect(spans.length).toBeGreaterThanOrEqual(8);
    // The token-endpoint POSTs (two good, one rejected) have their CLIENT spans in the run.
    expect(spans.filter((s) => s.name === 'POST')).toHaveLength(3);
    const haystack = [
      JSON.stringify(spans),
      await renderMetrics(registry, 'text'),
      await renderMetrics(registry, 'openmetrics'),
      logs.join('\n'),
    ].join('\n');
    expect(haystack).toContain('good GET'); // the haystack is the real output
    expect(haystack).toContain('api_key=REDACTED');
    for (const needle of [tokenPrefix, ...tokens, secret, basic, querySecret]) {
      expect(haystack.includes(needle), `found ${needle}`).toBe(false);
    }
  });
});

describe('url.full on spans', () => {
  it('keeps no bare query part, query value, fragment or userinfo, in any encoding', async () => {
    const s = () => `S${randomBytes(8).toString('hex')}`;
    const [bare, bare2, value, encoded, fragment, user, password, tokenQuery] = Array.from(
      { length: 8 },
      s,
    );
    const api = await startScriptedServer([]);
    const idp = await startTokenServer('tok');
    const apiUrl = new URL(api.url);
    const client = createClient({
      name: 'urls',
      baseUrl: api.url,
      retry: false,
      telemetry: { tracing: { tracerProvider: tracing.provider }, metrics: false },
      auth: clientCredentials({
        // A bare query part on the token endpoint too: the token-endpoint span drops the query.
        tokenUrl: `${idp.url}?${tokenQuery}`,
        clientId: 'worker',
        clientSecret: 'x',
      }),
    });
    tracing.reset();
    const paths = [
      [`/a?${bare}`, '/a?REDACTED'],
      [`/b?${bare}&k=${value}`, '/b?REDACTED&k=REDACTED'],
      [`/c?k=${value}&${bare2}`, '/c?k=REDACTED&REDACTED'],
      [`/d?${encodeURIComponent(`${encoded}=x`)}`, '/d?REDACTED'], // %3D is not a separator
      [`/e?%${Buffer.from(encoded!).toString('hex').slice(0, 2)}${encoded}`, '/e?REDACTED'],
      [`/f?k=${value}#${fragment}`, '/f?k=REDACTED'],
      [`/g#${fragment}`, '/g'],
      [`/h?a&&b=${value}`, '/h?REDACTED&&b=REDACTED'],
    ] as const;
    try {
      for (const [path] of paths) await (await client.fetch(path)).text();
      const withUserinfo = `http://${user}:${password}@${apiUrl.host}/i?${bare}`;
      try {
        await (await client.fetch(withUserinfo)).text();
      } catch {
        // refusing such a URL outright is fine too; what matters is what the spans carry
      }
    } finally {
      await client.close();
      await api.close();
      await idp.close();
    }

    const attempts = tracing.spans().filter((sp) => sp.name === 'GET');
    const full = attempts.map((sp) => sp.attributes['url.full']);
    expect(full.slice(0, paths.length)).toEqual(paths.map(([, want]) => `${api.url}${want}`));
    if (full.length > paths.length) {
      expect(full[paths.length]).toBe(`http://REDACTED:REDACTED@${apiUrl.host}/i?REDACTED`);
    }
    const tokenRequest = tracing.spans().find((sp) => sp.name === 'POST');
    expect(tokenRequest?.attributes['url.full']).toBe(idp.url);
    const haystack = JSON.stringify(
      tracing
        .spans()
        .map((sp) => ({ name: sp.name, attributes: sp.attributes, events: sp.events })),
    );
    for (const needle of [bare, bare2, value, encoded, fragment, user, password, tokenQuery]) {
      expect(haystack.includes(needle!), `found ${needle}`).toBe(false);
    }
  });
});
