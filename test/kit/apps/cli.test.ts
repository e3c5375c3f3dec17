import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const CLI = fileURLToPath(new URL('../../../src/cli/main.ts', import.meta.url));
const children: ChildProcess[] = [];

afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});

interface Running {
  readonly child: ChildProcess;
  output(): string;
  waitFor(pattern: RegExp): Promise<RegExpMatchArray>;
  readonly exited: Promise<[number | null, NodeJS.Signals | null]>;
}

function steadfast(args: string[], env: NodeJS.ProcessEnv = {}): Running {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let text = '';
  const waiters = new Set<{ pattern: RegExp; resolve: (match: RegExpMatchArray) => void }>();
  const onData = (chunk: Buffer) => {
    text += chunk.toString();
    for (const waiter of waiters) {
      const match = text.match(waiter.pattern);
      if (match) {
        waiters.delete(waiter);
        waiter.resolve(match);
      }
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  return {
    child,
    output: () => text,
    waitFor: (pattern) =>
      new Promise((resolve, reject) => {
        const match = text.match(pattern);
        if (match) return resolve(match);
        waiters.add({ pattern, resolve });
        exited.then(([code]) =>
          reject(new Error(`exited with ${code} before ${pattern}:\n${text}`)),
        );
      }),
    exited,
  };
}

describe('steadfast idp and flaky-api as processes', () => {
  it('serve tokens and forecasts from environment configuration, and exit 0 on SIGTERM', async () => {
    const idp = steadfast(['idp', '--port', '0'], {
      IDP_CLIENTS: JSON.stringify([
        { clientId: 'worker', clientSecret: 'worker-secret', scopes: ['weather.read'] },
        { clientId: 'weather-api', clientSecret: 'api-secret', mayRevokeAnyToken: true },
      ]),
      IDP_TOKEN_TTL_SECONDS: '120',
      IDP_ADMIN_TOKEN: 'idp-admin-token-0123456789',
    });
    const [, idpUrl] = await idp.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/);

    const api = steadfast(['flaky-api', '--port', '0'], {
      FLAKY_API_INTROSPECTION_URL: `${idpUrl}/token/introspection`,
      FLAKY_API_REVOCATION_URL: `${idpUrl}/token/revocation`,
      FLAKY_API_CLIENT_ID: 'weather-api',
      FLAKY_API_CLIENT_SECRET: 'api-secret',
      FLAKY_API_ADMIN_TOKEN: 'admin-token-0123456789',
      FLAKY_API_REQUIRED_SCOPE: 'weather.read',
    });
    const [, apiUrl] = await api.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/);

    const tokenResponse = await fetch(`${idpUrl}/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from('worker:worker-secret').toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=client_credentials&scope=weather.read',
    });
    expect(tokenResponse.status).toBe(200);
    const { access_token: token, expires_in: expiresIn } = (await tokenResponse.json()) as {
      access_token: string;
      expires_in: number;
    };
    expect(expiresIn).toBe(120);

    const forecast = await fetch(`${apiUrl}/weatherforecast`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(forecast.status).toBe(200);
    expect(await forecast.json()).toHaveLength(5);

    const stats = await fetch(`${apiUrl}/admin/stats`, {
      headers: { authorization: 'Bearer admin-token-0123456789' },
    });
    expect(((await stats.json()) as { byStatus: Record<string, number> }).byStatus).toEqual({
      '200': 1,
    });
    // the IdP's own counters, over its admin route: one token issued, introspected by the API
    const idpStats = await fetch(`${idpUrl}/admin/stats`, {
      headers: { authorization: 'Bearer idp-admin-token-0123456789' },
    });
    expect(idpStats.status).toBe(200);
    expect(await idpStats.json()).toMatchObject({
      tokenRequests: 1,
      tokensIssued: 1,
      activeTokens: 1,
    });
    expect((await fetch(`${idpUrl}/admin/stats`)).status).toBe(401);

    api.child.kill('SIGTERM');
    idp.child.kill('SIGTERM');
    expect((await api.exited)[0]).toBe(0);
    expect((await idp.exited)[0]).toBe(0);
    const logs = idp.output() + api.output();
    expect(logs).not.toContain(token);
    expect(logs).not.toContain('api-secret');
    expect(logs).not.toContain('worker-secret');
    expect(logs).not.toContain('idp-admin-token-0123456789');
  }, 60_000);

  it('refuses bad configuration with exit code 2 and a message naming the setting', async () => {
    const noClients = steadfast(['idp'], { IDP_CLIENTS: '' });
    expect((await noClients.exited)[0]).toBe(2);
    expect(noClients.output()).toContain('no clients: set IDP_CLIENTS');

    const shortAdminToken = steadfast(['idp', '--port', '0'], {
      IDP_CLIENTS: JSON.stringify([{ clientId: 'worker', clientSecret: 'worker-secret' }]),
      IDP_ADMIN_TOKEN: 'too-short',
    });
    expect((await shortAdminToken.exited)[0]).toBe(2);
    expect(shortAdminToken.output()).toContain(
      '--admin-token/IDP_ADMIN_TOKEN must be at least 16 characters',
    );
    expect(shortAdminToken.output()).not.toContain('too-short');

    const badProfile = steadfast(['flaky-api', '--port', '0'], {
      FLAKY_API_INTROSPECTION_URL: 'http://127.0.0.1:1/introspect',
      FLAKY_API_CLIENT_ID: 'api',
      FLAKY_API_CLIENT_SECRET: 'secret',
      FLAKY_API_ADMIN_TOKEN: 'admin-token-0123456789',
      FLAKY_API_PROFILE: '{"errorRate": 2}',
    });
    expect((await badProfile.exited)[0]).toBe(2);
    expect(badProfile.output()).toContain('`errorRate` must be a number in [0, 1], got 2');

    const unknown = steadfast(['nope']);
    expect((await unknown.exited)[0]).toBe(2);
    expect(unknown.output()).toContain('unknown command "nope"');
  }, 60_000);

  it('a worker whose metrics port is taken exits 1 and says why', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as AddressInfo;
    try {
      const worker = steadfast(['worker', '--port', String(port)], {
        WORKER_API_URL: 'http://127.0.0.1:1',
        WORKER_TOKEN_URL: 'http://127.0.0.1:1/token',
        WORKER_CLIENT_ID: 'worker',
        WORKER_CLIENT_SECRET: 'worker-secret',
        OTEL_TRACES_EXPORTER: 'none',
      });
      expect((await worker.exited)[0]).toBe(1);
      expect(worker.output()).toContain('EADDRINUSE');
      expect(worker.output()).not.toContain('worker-secret');
    } finally {
      taken.close();
    }
  }, 60_000);

  it("prints the kit's version for --version and -v, with exit code 0", async () => {
    const kit = JSON.parse(
      readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'),
    ) as { name: string; version: string };
    expect(kit.name).toBe('@steadfast/kit');
    const runs = [steadfast(['--version']), steadfast(['-v'])];
    for (const run of runs) {
      expect((await run.exited)[0]).toBe(0);
      expect(run.output()).toBe(`${kit.version}\n`);
    }
  }, 60_000);

  it('prints help for every command with exit code 0', async () => {
    const commands = ['idp', 'flaky-api', 'worker', 'demo'];
    const runs = commands.map((command) => steadfast([command, '--help']));
    for (const [index, help] of runs.entries()) {
      expect((await help.exited)[0]).toBe(0);
      expect(help.output()).toContain(`Usage: steadfast ${commands[index]} [options]`);
    }
    expect(runs[0]!.output()).toContain('IDP_ADMIN_TOKEN');
    expect(runs[0]!.output()).toContain('GET /admin/stats');
  }, 60_000);
});
