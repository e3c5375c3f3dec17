import { readFileSync } from 'node:fs';
import { MIN_ADMIN_TOKEN_LENGTH } from '../../apps/bearer-token.js';
import { type IdpClientConfig, startIdp } from '../../apps/idp.js';
import type { CliCommand } from '../command.js';
import { helpText, parseOptions, UsageError } from '../options.js';
import { logLine, shutdownSignal } from '../signals.js';

export const OPTIONS = {
  host: {
    kind: 'string',
    env: 'IDP_HOST',
    default: '127.0.0.1',
    description: 'Interface to listen on',
  },
  port: {
    kind: 'integer',
    env: 'IDP_PORT',
    default: 8081,
    min: 0,
    max: 65_535,
    description: 'Port to listen on (0 = any free port)',
  },
  issuer: {
    kind: 'string',
    env: 'IDP_ISSUER',
    description: 'Public issuer URL when clients use another name (default http://<host>:<port>)',
  },
  clients: {
    kind: 'secret',
    env: 'IDP_CLIENTS',
    description:
      'Clients as JSON: [{"clientId","clientSecret","scopes":[...],"mayRevokeAnyToken":bool}]',
  },
  'clients-file': {
    kind: 'string',
    env: 'IDP_CLIENTS_FILE',
    description: 'Read the clients JSON from this file instead',
  },
  'token-ttl-seconds': {
    kind: 'integer',
    env: 'IDP_TOKEN_TTL_SECONDS',
    default: 300,
    min: 1,
    max: 86_400,
    description: 'Access token lifetime in seconds',
  },
  audience: {
    kind: 'string',
    env: 'IDP_AUDIENCE',
    description: 'Resource indicator tokens are issued for',
  },
  'admin-token': {
    kind: 'secret',
    env: 'IDP_ADMIN_TOKEN',
    description: `Bearer token of GET /admin/stats, at least ${MIN_ADMIN_TOKEN_LENGTH} characters (default: no admin route)`,
  },
} as const;

/** Turn the clients JSON into validated client configs. */
export function parseClients(json: string, source: string): IdpClientConfig[] {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    throw new UsageError(`${source} is not valid JSON: ${(error as Error).message}`);
  }
  if (!Array.isArray(value) || value.length === 0) {
    throw new UsageError(`${source} must be a non-empty JSON array of clients`);
  }
  return value.map((entry: unknown, index) => {
    const client = entry as Record<string, unknown>;
    if (
      typeof client !== 'object' ||
      client === null ||
      typeof client.clientId !== 'string' ||
      typeof client.clientSecret !== 'string' ||
      (client.scopes !== undefined &&
        !(
          Array.isArray(client.scopes) && client.scopes.every((scope) => typeof scope === 'string')
        )) ||
      (client.mayRevokeAnyToken !== undefined && typeof client.mayRevokeAnyToken !== 'boolean')
    ) {
      throw new UsageError(
        `${source}[${index}] must be {"clientId": string, "clientSecret": string, "scopes"?: string[], "mayRevokeAnyToken"?: boolean}`,
      );
    }
    return {
      clientId: client.clientId,
      clientSecret: client.clientSecret,
      ...(client.scopes ? { scopes: client.scopes as string[] } : {}),
      ...(client.mayRevokeAnyToken ? { mayRevokeAnyToken: true } : {}),
    };
  });
}

/** `steadfast idp`: the demo OAuth2 authorization server, until SIGTERM/SIGINT. */
export const idpCommand: CliCommand = {
  name: 'idp',
  summary: 'Run the demo OAuth2 authorization server',
  async run(argv, env) {
    const parsed = parseOptions(OPTIONS, argv, env);
    if (parsed.help) {
      process.stdout.write(
        helpText(
          'steadfast idp [options]',
          'A real OAuth2 authorization server (oidc-provider): client credentials grant,\n' +
            'introspection (/token/introspection) and revocation (/token/revocation).\n' +
            'With an admin token, GET /admin/stats (Authorization: Bearer <admin token>)\n' +
            'answers the counters (tokensIssued, tokenRequests, ...) as JSON.\n' +
            'Prefer IDP_CLIENTS or --clients-file to --clients, and IDP_ADMIN_TOKEN to\n' +
            '--admin-token: flags show in `ps`.',
          OPTIONS,
        ),
      );
      return 0;
    }
    const options = parsed.values;
    let clients: IdpClientConfig[];
    if (options['clients-file']) {
      let text: string;
      try {
        text = readFileSync(options['clients-file'], 'utf8');
      } catch (error) {
        throw new UsageError(`cannot read --clients-file: ${(error as Error).message}`);
      }
      clients = parseClients(text, '--clients-file');
    } else if (options.clients) {
      clients = parseClients(options.clients, 'IDP_CLIENTS/--clients');
    } else {
      throw new UsageError('no clients: set IDP_CLIENTS, --clients-file or --clients');
    }
    const adminToken = options['admin-token'];
    if (adminToken !== undefined && adminToken.length < MIN_ADMIN_TOKEN_LENGTH) {
      throw new UsageError(
        `--admin-token/IDP_ADMIN_TOKEN must be at least ${MIN_ADMIN_TOKEN_LENGTH} characters`,
      );
    }

    const log = logLine('idp');
    const idp = await startIdp({
      host: options.host,
      port: options.port,
      clients,
      accessTokenTtlSeconds: options['token-ttl-seconds'],
      ...(options.audience ? { audience: options.audience } : {}),
      ...(options.issuer ? { issuer: options.issuer } : {}),
      ...(adminToken !== undefined ? { adminToken } : {}),
      log,
    });
    log(
      `listening on ${idp.url} (token ${idp.tokenEndpoint}, ${clients.length} clients, token TTL ${options['token-ttl-seconds']} s${idp.statsEndpoint ? `, admin ${idp.statsEndpoint}` : ''})`,
    );
    const signal = await shutdownSignal();
    log(`${signal}: stopping (${JSON.stringify(idp.stats())})`);
    await idp.close();
    return 0;
  },
};
