import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { type StoredToken, tokenFingerprint } from 'steadfast';

const ENCRYPTED_PREFIX = 'e1:';
const IV_BYTES = 12; // GCM standard nonce
const TAG_BYTES = 16;

/** The token types the SDK writes and sends (RFC 6750 Bearer, RFC 9449 DPoP). */
const TOKEN_TYPES: readonly string[] = ['Bearer', 'DPoP'];

/**
 * Encodes token records as `fingerprint|payload`. The payload is JSON, or with an
 * encryption key `e1:` + base64(iv | tag | AES-256-GCM ciphertext). The record's Redis
 * key is the additional authenticated data, so a record copied under another key (another
 * credential) fails to decrypt instead of being used.
 *
 * A DPoP token's private key (`dpopKey`) is written only inside the encrypted payload:
 * encoding one without an encryption key throws (the authorization never asks for that:
 * it keeps each instance's key to itself then), and a plaintext record carrying a key is
 * never read.
 */
export class RecordCodec {
  readonly #key: Buffer | undefined;

  constructor(encryptionKey: Buffer | undefined) {
    this.#key = encryptionKey;
  }

  /** True when records are encrypted: they may carry a DPoP private key. */
  get encrypts(): boolean {
    return this.#key !== undefined;
  }

  encode(redisKey: string, token: StoredToken): string {
    if (token.dpopKey !== undefined && !this.#key) {
      throw new Error('a DPoP private key is written to Redis only with an encryptionKey');
    }
    const json = JSON.stringify({
      v: token.value,
      t: token.type,
      iat: token.issuedAt,
      life: token.lifetimeMs,
      gen: token.generation,
      ...(token.dpopKey !== undefined ? { k: token.dpopKey } : {}),
    });
    if (!this.#key) return `${token.fingerprint}|${json}`;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    cipher.setAAD(Buffer.from(redisKey));
    const ciphertext = Buffer.concat([cipher.update(json, 'utf8'), cipher.final()]);
    const payload = Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString('base64');
    return `${token.fingerprint}|${ENCRYPTED_PREFIX}${payload}`;
  }

  /** The decoded record, or undefined when it cannot be read (wrong key, foreign format). */
  decode(redisKey: string, record: string): StoredToken | undefined {
    const sep = record.indexOf('|');
    if (sep <= 0) return undefined;
    const fingerprint = record.slice(0, sep);
    let json = record.slice(sep + 1);
    const encrypted = json.startsWith(ENCRYPTED_PREFIX);
    try {
      if (encrypted) {
        if (!this.#key) return undefined;
        const raw = Buffer.from(json.slice(ENCRYPTED_PREFIX.length), 'base64');
        const decipher = createDecipheriv('aes-256-gcm', this.#key, raw.subarray(0, IV_BYTES));
        decipher.setAAD(Buffer.from(redisKey));
        decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
        json = Buffer.concat([
          decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)),
          decipher.final(),
        ]).toString('utf8');
      } else if (this.#key) {
        // Encryption is configured: refuse plaintext records someone else wrote.
        return undefined;
      }
      const parsed = JSON.parse(json) as Record<string, unknown>;
      if (typeof parsed.v !== 'string' || typeof parsed.life !== 'number') return undefined;
      // Whatever is in Redis ends up in a header: accept only what the SDK itself writes.
      if (!/^[\x21-\x7e]+$/.test(parsed.v)) return undefined;
      if (parsed.t !== undefined && !TOKEN_TYPES.includes(parsed.t as string)) return undefined;
      // A private key is only ever read from inside the encrypted payload.
      if (parsed.k !== undefined && (!encrypted || typeof parsed.k !== 'string')) return undefined;
      if (tokenFingerprint(parsed.v) !== fingerprint) return undefined;
      return {
        value: parsed.v,
        fingerprint,
        type: parsed.t === 'DPoP' ? 'DPoP' : 'Bearer',
        issuedAt: typeof parsed.iat === 'number' ? parsed.iat : 0,
        lifetimeMs: parsed.life,
        generation: typeof parsed.gen === 'number' ? parsed.gen : 0,
        ...(parsed.k !== undefined ? { dpopKey: parsed.k as string } : {}),
      };
    } catch {
      return undefined;
    }
  }
}
