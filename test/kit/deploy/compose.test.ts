// docker-compose.yml, the Dockerfile and the configs it mounts, checked without Docker:
// Debian's docker-compose accepts the file, every mounted path exists, and every endpoint
// (scrape targets, exporters, datasource URLs, service environment) names a real service on
// a port it listens on.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, posix, relative } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { DASHBOARD_FILE } from '../../../dashboards/src/fleet.js';
import { WORKER_JOB, WORKER_METRICS_PORT } from '../../../dashboards/src/metrics.js';
import { REPO_ROOT, requireTool } from '../../helpers/prometheus.js';

interface Service {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  environment?: Record<string, string | null>;
  volumes?: ({ type: string; source: string; target: string; read_only?: boolean } | string)[];
  deploy?: { replicas?: number };
  profiles?: string[];
  ports?: unknown[];
  depends_on?: Record<string, unknown> | string[];
  healthcheck?: { test?: string[] };
}

let compose: { services: Record<string, Service> } = { services: {} };
let composeOutput = '';

function composeConfig(args: string[]): { status: number | null; out: string; err: string } {
  const r = spawnSync('docker-compose', [...args, '-f', 'docker-compose.yml', 'config'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

function yamlFile<T>(path: string): T {
  return parseYaml(readFileSync(join(REPO_ROOT, path), 'utf8')) as T;
}

/** Bind mounts, from the long syntax or the short `source:target[:mode]` one. */
function bindMounts(service: Service): { source: string; target: string }[] {
  return (service.volumes ?? []).flatMap((v) => {
    if (typeof v === 'object') {
      return v.type === 'bind' ? [{ source: v.source, target: v.target }] : [];
    }
    const [source, target] = v.split(':');
    // a named volume has no path separator in its source
    return source?.includes('/') && target ? [{ source, target }] : [];
  });
}

/** Ports a service listens on inside the compose network. */
const LISTENS: Record<string, (s: Service) => number[]> = {
  redis: () => [6379],
  idp: (s) => [Number(s.environment?.IDP_PORT ?? 8081)],
  api: (s) => [Number(s.environment?.FLAKY_API_PORT ?? 8080)],
  worker: (s) => [Number(s.environment?.METRICS_PORT)],
  prometheus: () => [9090],
  grafana: () => [3000],
  'otel-collector': () => {
    const c = yamlFile<{
      receivers: { otlp: { protocols: Record<string, { endpoint: string }> } };
      extensions?: Record<string, { endpoint?: string }>;
      service: {
        telemetry?: {
          metrics?: { readers?: { pull?: { exporter?: { prometheus?: { port?: number } } } }[] };
        };
      };
    }>('otel/collector.yaml');
    const ports = Object.values(c.receivers.otlp.protocols).map((p) =>
      Number(p.endpoint.split(':').at(-1)),
    );
    for (const r of c.service.telemetry?.metrics?.readers ?? []) {
      const port = r.pull?.exporter?.prometheus?.port;
      if (port !== undefined) ports.push(port);
    }
    return ports;
  },
  tempo: () => {
    const t = yamlFile<{
      server: { http_listen_port: number };
      distributor: { receivers: { otlp: { protocols: Record<string, { endpoint: string }> } } };
    }>('otel/tempo.yaml');
    return [
      t.server.http_listen_port,
      ...Object.values(t.distributor.receivers.otlp.protocols).map((p) =>
        Number(p.endpoint.split(':').at(-1)),
      ),
    ];
  },
};

/** Every `scheme://host:port` in a text. */
function urls(text: string): { host: string; port: number; raw: string }[] {
  return [...text.matchAll(/\b[a-z][a-z0-9+.-]*:\/\/([a-z0-9_.-]+):(\d+)/gi)].map((m) => ({
    host: m[1]!,
    port: Number(m[2]),
    raw: m[0],
  }));
}

function expectServicePort(host: string, port: number, where: string): void {
  const service = compose.services[host];
  expect(service, `${where}: "${host}" is not a compose service`).toBeDefined();
  const listen = LISTENS[host];
  expect(listen, `${where}: no port list for service ${host}`).toBeDefined();
  expect(listen!(service!), `${where}: ${host} does not listen on ${port}`).toContain(port);
}

beforeAll(() => {
  requireTool('docker-compose', 'docker-compose');
  // Resolved with every profile, so the load generator is included.
  const r = composeConfig(['--profile', 'load']);
  composeOutput = r.out;
  if (r.status !== 0) throw new Error(`docker-compose config failed:\n${r.err}`);
  compose = parseYaml(r.out) as typeof compose;
});

describe('docker-compose.yml', () => {
  it('is accepted by `docker-compose config` (default and load profile)', () => {
    const plain = composeConfig([]);
    expect(plain.status, plain.err).toBe(0);
    expect(composeOutput).toContain('load-generator');
  });

  it('rejects a broken compose file (the check can fail)', () => {
    const r = spawnSync('docker-compose', ['-f', '-', 'config'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      input: 'services:\n  x:\n    image: [not, a, string]\n',
    });
    expect(r.status).not.toBe(0);
  });

  it('runs the whole fleet and its observability', () => {
    expect(Object.keys(compose.services).sort()).toEqual(
      [
        'api',
        'grafana',
        'idp',
        'load-generator',
        'otel-collector',
        'prometheus',
        'redis',
        'tempo',
        'worker',
      ].sort(),
    );
    expect(compose.services.worker?.deploy?.replicas).toBe(3);
    expect(compose.services['load-generator']?.profiles).toEqual(['load']);
    expect(compose.services['load-generator']?.command).toEqual(
      expect.arrayContaining(['loadtest']),
    );
    for (const [name, cmd] of [
      ['idp', 'idp'],
      ['api', 'flaky-api'],
      ['worker', 'worker'],
    ] as const) {
      expect(compose.services[name]?.build, `${name} is built from the Dockerfile`).toBeDefined();
      expect(compose.services[name]?.command).toEqual([cmd]);
    }
  });

  it('pins every third-party image to a version', () => {
    for (const [name, s] of Object.entries(compose.services)) {
      if (s.build !== undefined) continue;
      expect(s.image, name).toMatch(/^[a-z0-9./_-]+:v?[0-9][\w.-]*$/);
    }
  });

  it('mounts only paths that exist, files as files and directories as directories', () => {
    const problems: string[] = [];
    let count = 0;
    for (const [name, s] of Object.entries(compose.services)) {
      for (const m of bindMounts(s)) {
        count++;
        const rel = relative(REPO_ROOT, m.source);
        if (rel.startsWith('..')) problems.push(`${name}: mounts ${m.source} outside the repo`);
        if (!existsSync(m.source)) {
          problems.push(`${name}: ${rel} does not exist`);
          continue;
        }
        const isFile = statSync(m.source).isFile();
        const looksLikeFile = /\.(ya?ml|json)$/.test(m.target);
        if (isFile !== looksLikeFile)
          problems.push(`${name}: ${rel} -> ${m.target} file/dir mismatch`);
      }
    }
    expect(count).toBeGreaterThanOrEqual(6);
    expect(problems).toEqual([]);
  });

  it('runs Prometheus on prometheus/ with exemplar storage, and its rule files are mounted', () => {
    const p = compose.services.prometheus!;
    const command = [p.command ?? []].flat();
    expect(command).toContain('--enable-feature=exemplar-storage');
    const configFlag = command.find((c) => c.startsWith('--config.file='))!;
    const configTarget = configFlag.split('=')[1]!;
    const mounts = bindMounts(p);
    const config = mounts.find((m) => m.target === configTarget);
    expect(config && relative(REPO_ROOT, config.source)).toBe('prometheus/prometheus.yml');
    // rule_files are relative to the config file: they must resolve inside a mount of prometheus/rules
    const promConfig = yamlFile<{ rule_files: string[] }>('prometheus/prometheus.yml');
    for (const pattern of promConfig.rule_files) {
      const inContainer = posix.join(posix.dirname(configTarget), pattern);
      const mount = mounts.find((m) => inContainer.startsWith(`${m.target}/`));
      expect(mount, `rule_files ${pattern} is not mounted`).toBeDefined();
      expect(relative(REPO_ROOT, mount!.source)).toBe('prometheus/rules');
    }
  });

  it('provisions Grafana from dashboards/ and opens on the fleet dashboard', () => {
    const g = compose.services.grafana!;
    const mounts = bindMounts(g);
    const provisioning = mounts.find((m) => m.target === '/etc/grafana/provisioning');
    expect(provisioning && relative(REPO_ROOT, provisioning.source)).toBe(
      'dashboards/provisioning',
    );
    const providers = yamlFile<{ providers: { options: { path: string } }[] }>(
      'dashboards/provisioning/dashboards/steadfast.yml',
    );
    const providerPath = providers.providers[0]!.options.path;
    const dashboardMount = mounts.find((m) => m.target.startsWith(`${providerPath}/`));
    expect(dashboardMount && relative(REPO_ROOT, dashboardMount.source)).toBe(
      `dashboards/${DASHBOARD_FILE}`,
    );
    expect(g.environment?.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH).toBe(dashboardMount?.target);
  });
});

describe('endpoints name real compose services', () => {
  it('every Prometheus scrape target and DNS name is a service on a port it listens on', () => {
    const promConfig = yamlFile<{
      scrape_configs: {
        job_name: string;
        static_configs?: { targets: string[] }[];
        dns_sd_configs?: { names: string[]; port: number; type: string }[];
      }[];
    }>('prometheus/prometheus.yml');
    const jobs = promConfig.scrape_configs.map((j) => j.job_name);
    expect(jobs).toContain(WORKER_JOB);
    let checked = 0;
    for (const job of promConfig.scrape_configs) {
      for (const sc of job.static_configs ?? []) {
        for (const t of sc.targets) {
          const [host, port] = t.split(':');
          if (host === 'localhost' && job.job_name === 'prometheus') continue;
          expectServicePort(host!, Number(port), `scrape job ${job.job_name}`);
          checked++;
        }
      }
      for (const dns of job.dns_sd_configs ?? []) {
        expect(dns.type).toBe('A');
        for (const name of dns.names) {
          expectServicePort(name, dns.port, `scrape job ${job.job_name}`);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThanOrEqual(3);
    // the workers are discovered by DNS on their metrics port
    const workers = promConfig.scrape_configs.find((j) => j.job_name === WORKER_JOB)!;
    expect(workers.dns_sd_configs?.[0]?.names).toEqual(['worker']);
    expect(workers.dns_sd_configs?.[0]?.port).toBe(WORKER_METRICS_PORT);
  });

  it('every collector exporter endpoint is a service on a port it listens on', () => {
    const c = yamlFile<{ exporters: Record<string, { endpoint?: string }> }>('otel/collector.yaml');
    const endpoints = Object.entries(c.exporters).filter(([, e]) => e.endpoint !== undefined);
    expect(endpoints.length).toBeGreaterThan(0);
    for (const [name, e] of endpoints) {
      const [host, port] = e.endpoint!.replace(/^[a-z]+:\/\//, '').split(':');
      expectServicePort(host!, Number(port), `collector exporter ${name}`);
    }
  });

  it('every Grafana datasource URL is a service on a port it listens on', () => {
    const ds = yamlFile<{ datasources: { name: string; url: string }[] }>(
      'dashboards/provisioning/datasources/datasources.yml',
    );
    for (const d of ds.datasources) {
      const [u] = urls(d.url);
      expect(u, d.name).toBeDefined();
      expectServicePort(u!.host, u!.port, `datasource ${d.name}`);
    }
  });

  it('every URL in a service environment or command is a service on a port it listens on', () => {
    let checked = 0;
    for (const [name, s] of Object.entries(compose.services)) {
      for (const [key, value] of Object.entries(s.environment ?? {})) {
        for (const u of urls(String(value ?? ''))) {
          expectServicePort(u.host, u.port, `${name} ${key}=${u.raw}`);
          checked++;
        }
      }
      for (const u of urls([s.command ?? []].flat().join(' '))) {
        expectServicePort(u.host, u.port, `${name} command ${u.raw}`);
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(10);
    // traces of every app go to the collector's OTLP/HTTP receiver
    for (const name of ['worker', 'load-generator']) {
      expect(compose.services[name]?.environment?.OTEL_EXPORTER_OTLP_ENDPOINT, name).toBe(
        'http://otel-collector:4318',
      );
      expect(compose.services[name]?.environment?.REDIS_URL, name).toBe('redis://redis:6379');
    }
  });

  it('every healthcheck probes the port its service listens on', () => {
    for (const [name, s] of Object.entries(compose.services)) {
      const probe = (s.healthcheck?.test ?? []).join(' ');
      for (const m of probe.matchAll(/127\.0\.0\.1:(\d+)|connect\((\d+)/g)) {
        expect(LISTENS[name]?.(s), `${name} healthcheck`).toContain(Number(m[1] ?? m[2]));
      }
    }
  });
});

describe('otel/collector.yaml', () => {
  const c = yamlFile<{
    receivers: Record<string, { protocols?: Record<string, unknown> }>;
    processors: Record<string, unknown>;
    exporters: Record<string, unknown>;
    extensions?: Record<string, unknown>;
    service: {
      extensions?: string[];
      pipelines: Record<string, { receivers: string[]; processors: string[]; exporters: string[] }>;
    };
  }>('otel/collector.yaml');

  it('takes OTLP over gRPC and HTTP', () => {
    expect(Object.keys(c.receivers.otlp?.protocols ?? {}).sort()).toEqual(['grpc', 'http']);
  });

  it('puts memory_limiter first and batch in every pipeline, and defines every component', () => {
    const pipelines = Object.entries(c.service.pipelines);
    expect(pipelines.map(([n]) => n)).toContain('traces');
    for (const [name, p] of pipelines) {
      expect(p.processors[0], name).toBe('memory_limiter');
      expect(p.processors, name).toContain('batch');
      for (const r of p.receivers) expect(c.receivers, `${name} receiver ${r}`).toHaveProperty([r]);
      for (const x of p.processors)
        expect(c.processors, `${name} processor ${x}`).toHaveProperty([x]);
      for (const e of p.exporters) expect(c.exporters, `${name} exporter ${e}`).toHaveProperty([e]);
    }
    for (const e of c.service.extensions ?? []) expect(c.extensions).toHaveProperty([e]);
  });

  it('sends traces to the trace backend Grafana queries', () => {
    const ds = yamlFile<{ datasources: { type: string; url: string }[] }>(
      'dashboards/provisioning/datasources/datasources.yml',
    );
    const traceDs = ds.datasources.find((d) => d.type === 'tempo' || d.type === 'jaeger')!;
    const traceHost = urls(traceDs.url)[0]!.host;
    const exporters = c.service.pipelines.traces!.exporters.map(
      (e) => (c.exporters[e] as { endpoint?: string }).endpoint ?? '',
    );
    expect(exporters.some((e) => e.replace(/^[a-z]+:\/\//, '').startsWith(`${traceHost}:`))).toBe(
      true,
    );
  });
});

describe('Dockerfile', () => {
  const text = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
  const stages = text.split(/^FROM /m).slice(1);
  const build = stages[0] ?? '';
  const runtime = stages.at(-1) ?? '';
  const workspaces = (
    JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { workspaces: string[] }
  ).workspaces;
  const ignored = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  /** `COPY <sources...> <target>` lines of a stage (not --from=), joined continuations. */
  const copies = (stage: string) =>
    [...stage.replace(/\\\n/g, ' ').matchAll(/^COPY (?!--from)(.+)$/gm)].map((m) => {
      const words = m[1]!.trim().split(/\s+/);
      return { sources: words.slice(0, -1), target: words.at(-1)! };
    });
  /** Does a .dockerignore pattern (`x`, `**\/x`) match a repo path or one of its parents? */
  const isIgnored = (path: string) =>
    ignored.some((pattern) => {
      const parts = path.split('/');
      const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
      if (pattern.startsWith('**/')) return parts.includes(pattern.slice(3));
      return prefixes.includes(pattern);
    });

  it('is multi-stage: dev dependencies to build, production dependencies to run', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(build).toMatch(/RUN npm ci(?! [^\n]*--omit=dev)/);
    expect(build).toMatch(/npm run build/);
    expect(runtime).toMatch(/RUN npm ci [^\n]*--omit=dev/);
    expect(runtime).toMatch(/COPY --from=\S+ \/app\/dist/);
  });

  it('installs with the workspace layout: every package manifest before npm ci, in both stages', () => {
    expect(workspaces.length).toBe(3);
    for (const stage of [build, runtime]) {
      const beforeInstall = stage.slice(0, stage.indexOf('RUN npm ci'));
      const copied = copies(beforeInstall).flatMap((c) => c.sources);
      expect(copied).toEqual(expect.arrayContaining(['package.json', 'package-lock.json']));
      for (const workspace of workspaces) expect(copied).toContain(`${workspace}/package.json`);
    }
  });

  it('builds the packages and the kit from their sources, and runs their built dist/', () => {
    const built = copies(build).flatMap((c) => c.sources);
    expect(built).toEqual(
      expect.arrayContaining(['src', 'tsconfig.base.json', 'tsconfig.build.json']),
    );
    for (const workspace of workspaces) {
      expect(built).toEqual(
        expect.arrayContaining([`${workspace}/src`, `${workspace}/tsconfig.json`]),
      );
      expect(runtime).toContain(`COPY --from=build /app/${workspace}/dist ./${workspace}/dist`);
    }
  });

  it('copies only paths that exist and that .dockerignore lets into the context', () => {
    const sources = stages.flatMap((stage) => copies(stage).flatMap((c) => c.sources));
    expect(sources.length).toBeGreaterThan(10);
    for (const source of sources) {
      expect(existsSync(join(REPO_ROOT, source)), `${source} exists`).toBe(true);
      expect(isIgnored(source), `${source} is not in .dockerignore`).toBe(false);
    }
  });

  it('runs as a non-root user with the CLI as entrypoint', () => {
    const user = /^USER (\S+)/m.exec(runtime)?.[1];
    expect(user).toBeDefined();
    expect(['root', '0']).not.toContain(user);
    expect(runtime).toContain('ENTRYPOINT ["node", "dist/cli/main.js"]');
  });

  it("has a HEALTHCHECK on the worker's /healthz at METRICS_PORT, which other app services override", () => {
    // the instruction with its continuation lines joined
    const healthcheck = /^HEALTHCHECK (.+)$/m.exec(runtime.replace(/\\\n/g, ' '))?.[1] ?? '';
    expect(healthcheck).toContain('/healthz');
    expect(healthcheck).toContain('process.env.METRICS_PORT');
    expect(healthcheck).toContain(`||${WORKER_METRICS_PORT})`);
    expect(healthcheck).toContain('127.0.0.1');
    // every compose service of the image serves /healthz on METRICS_PORT or says how it is probed
    for (const [name, s] of Object.entries(compose.services)) {
      if (s.build === undefined) continue;
      const isWorker = [s.command ?? []].flat()[0] === 'worker';
      if (!isWorker) {
        expect(
          s.healthcheck?.test,
          `${name} overrides or disables the image's healthcheck`,
        ).toBeDefined();
      }
    }
    expect(compose.services['load-generator']?.healthcheck?.test).toEqual(['NONE']);
  });

  it('has a .dockerignore that keeps node_modules, build output and the repo history out', () => {
    expect(ignored).toEqual(
      expect.arrayContaining(['node_modules', '**/node_modules', '.git', 'dist', '**/dist']),
    );
    expect(isIgnored('packages/steadfast/dist')).toBe(true);
    expect(isIgnored('packages/redis/node_modules')).toBe(true);
    expect(isIgnored('src')).toBe(false);
    expect(isIgnored('packages/steadfast/src')).toBe(false);
  });
});
