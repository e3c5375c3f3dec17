/**
 * A token endpoint that echoes the request back must not get the client secret into an
 * error message in any encoding the request carried it in (Basic header, form body) or
 * that a server may re-quote it in (JSON, percent-encoding of either case, base64url, …).
 * Real loopback token endpoint; the encodings are computed here, independently of the code.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientCredentials } from '../../../packages/steadfast/src/auth/index.js';
import type { ClientAuthMethod } from '../../../packages/steadfast/src/auth/token-endpoint.js';
import { TokenUnavailableError } from '../../../packages/steadfast/src/errors.js';
import {
  type RecordedRequest,
  type ScriptedServer,
  startScriptedServer,
} from '../../helpers/http-server.js';

const CLIENT_ID = 'worker id';
const SECRET = 's3cr3t p@ss/wörd+"&=\\x';

const formEncoded = (v: string) => encodeURIComponent(v).replace(/%20/g, '+');
const b64 = (v: string) => Buffer.from(v, 'utf8').toString('base64');
const b64url = (v: string) => Buffer.from(v, 'utf8').toString('base64url');

/** Every form of the secret that must never be shown, named for the failure message. */
const FORMS: Record<string, string> = {
  literal: SECRET,
  formEncoded: formEncoded(SECRET),
  encodeURIComponent: encodeURIComponent(SECRET),
  urlSearchParams: new URLSearchParams({ s: SECRET }).toString().slice(2),
  lowerCaseHex: encodeURIComponent(SECRET).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()),
  json: JSON.stringify(SECRET).slice(1, -1),
  basicAsSent: b64(`${formEncoded(CLIENT_ID)}:${formEncoded(SECRET)}`),
  basicNaive: b64(`${CLIENT_ID}:${SECRET}`),
  basicUnpadded: b64(`${formEncoded(CLIENT_ID)}:${formEncoded(SECRET)}`).replace(/=+$/, ''),
  basicUrlSafe: b64url(`${formEncoded(CLIENT_ID)}:${formEncoded(SECRET)}`),
  basicNaiveUrlSafe: b64url(`${CLIENT_ID}:${SECRET}`),
  secretBase64: b64(SECRET),
  secretBase64Url: b64url(SECRET),
};

function expectNoSecret(text: string): void {
  for (const [name, form] of Object.entries(FORMS)) {
    expect(text.includes(form), `${name} form of the secret in: ${text}`).toBe(false);
  }
}

let server: ScriptedServer;
/** What the endpoint puts into `error_description` for the current test. */
let describeRequest: (request: RecordedRequest) => string = () => '';
/** What the endpoint puts into `error` for the current test. */
let errorCode = 'invalid_client';

beforeAll(async () => {
  server = await startScriptedServer((request) => ({
    status: 401,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ error: errorCode, error_description: describeRequest(request) }),
  }));
});
afterAll(() => server.close());

async function failureMessages(
  clientAuthMethod: ClientAuthMethod,
  options: { tokenUrl?: string; clientSecret?: string } = {},
): Promise<{ error: TokenUnavailableError; text: string }> {
  const auth = clientCredentials({
    tokenUrl: `${server.url}/token`,
    clientId: CLIENT_ID,
    clientSecret: SECRET,
    clientAuthMethod,
    credential: 'redaction',
    ...options,
  });
  try {
    await auth.getToken();
    throw new Error('expected the token request to fail');
  } catch (error) {
    expect(error).toBeInstanceOf(TokenUnavailableError);
    const e = error as TokenUnavailableError;
    const cause = e.cause as Error & { errorType?: string };
    const text = [e.message, e.reason, cause?.message, cause?.errorType, String(e.stack)].join(
      '\n',
    );
    return { error: e, text };
  } finally {
    await auth.close();
  }
}

describe('secrets echoed by the token endpoint', () => {
  it('hides the Basic header the endpoint echoes (client_secret_basic)', async () => {
    errorCode = 'invalid_client';
    describeRequest = (r) => `got ${r.headers.authorization}`;
    const { text } = await failureMessages('client_secret_basic');
    expectNoSecret(text);
    expect(text).toContain('got Basic [redacted]');
  });

  it('hides the form body the endpoint echoes (client_secret_post)', async () => {
    errorCode = 'invalid_client';
    describeRequest = (r) => `got ${r.body.toString('utf8')}`;
    const { text } = await failureMessages('client_secret_post');
    expectNoSecret(text);
    expect(text).toContain('client_secret=[redacted]');
  });

  it.each(Object.entries(FORMS))('hides the %s form in error_description', async (_name, form) => {
    errorCode = 'invalid_client';
    describeRequest = () => `the secret was ${form}.`;
    for (const method of ['client_secret_basic', 'client_secret_post'] as const) {
      const { text } = await failureMessages(method);
      expectNoSecret(text);
      expect(text).toContain('the secret was [redacted].');
    }
  });

  it('never uses an error code that carries the secret as a reason or label', async () => {
    const codeLike = 'abc123secret';
    errorCode = codeLike;
    describeRequest = () => 'nope';
    const { error, text } = await failureMessages('client_secret_basic', {
      clientSecret: codeLike,
    });
    expect(text).not.toContain(codeLike);
    expect(error.reason).toBe('401');
  });

  it('still shows a harmless error_description', async () => {
    errorCode = 'invalid_client';
    describeRequest = () => 'client authentication failed';
    const { text } = await failureMessages('client_secret_basic');
    expect(text).toContain('invalid_client: client authentication failed');
  });

  it('never shows the query of the token endpoint URL', async () => {
    errorCode = 'invalid_client';
    describeRequest = () => '';
    const { text } = await failureMessages('client_secret_basic', {
      tokenUrl: `${server.url}/token?api_key=QUERY-SECRET`,
    });
    expect(text).not.toContain('QUERY-SECRET');
  });
});
