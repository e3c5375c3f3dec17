import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { type StoredToken, tokenFingerprint } from 'steadfast';

const ENCRYPTED_PREFIX = 'e1:';
const IV_BYTES = 12; // GCM standard nonce
const TAG_BYTES = 16;

/**
 * Encodes token records as `fingerprint|payload`. The payload is JSON, or with an
 * encryption key `e1:` + base64(iv | tag | AES-256-GCM ciphertext). The record's Redis
 * key is the additional authenticated data, so a record copied under another key (another
 * credential) fails to decrypt instead of being used.
 */
export class RecordCodec {
  readonly #key: Buffer | undefined;

  constructor(encryptionKey: Buffer | undefined) {
    this.#key = encryptionKey;
  }

  encode(redisKey: string, token: StoredToken): string {
    const json = JSON.stringify({
      v: token.value,
      t: token.type,
      iat: token.issuedAt,
      life: token.lifetimeMs,
      gen: token.generation,
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
    try {
      if (json.startsWith(ENCRYPTED_PREFIX)) {
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
      if (parsed.t !== undefined && parsed.t !== 'Bearer') return undefined;
      if (tokenFingerprint(parsed.v) !== fingerprint) return undefined;
      return {
        value: parsed.v,
        fingerprint,
        type: 'Bearer',
        issuedAt: typeof parsed.iat === 'number' ? parsed.iat : 0,
        lifetimeMs: parsed.life,
        generation: typeof parsed.gen === 'number' ? parsed.gen : 0,
      };
    } catch {
      return undefined;
    }
  }
}
