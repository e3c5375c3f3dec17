/**
 * The last `DPoP-Nonce` each server gave (RFC 9449 §8, §9), by origin: the token endpoint
 * and every resource server have their own. Bounded: past `max` origins the one used
 * longest ago is forgotten (it costs that server one `use_dpop_nonce` round trip later).
 *
 * Answers arrive out of order: under load, the 401 of a request sent before a rotation
 * can be read after the answer that brought the next nonce. Each request takes a
 * {@link ticket} when its proof is signed, and a nonce is only replaced by one from a
 * request sent later, so a late answer never brings a stale nonce back.
 */
export class NonceMemory {
  readonly #nonces = new Map<string, { readonly nonce: string; readonly ticket: number }>();
  readonly #max: number;
  #tickets = 0;

  constructor(max = 64) {
    this.#max = max;
  }

  /** A number for a request about to be sent: later requests get larger ones. */
  ticket(): number {
    this.#tickets += 1;
    return this.#tickets;
  }

  /** The nonce to put in the next proof for `origin`, if the server gave one. */
  get(origin: string): string | undefined {
    const entry = this.#nonces.get(origin);
    if (entry !== undefined) {
      // Most recently used last, so the oldest is first to go.
      this.#nonces.delete(origin);
      this.#nonces.set(origin, entry);
    }
    return entry?.nonce;
  }

  /**
   * Remember what the answer to the request with `ticket` said in `DPoP-Nonce`, unless a
   * request sent later already brought one. A value that is not a valid nonce (RFC 9449
   * §8.1: `1*NQCHAR`, printable ASCII without `"` and `\`) is ignored.
   */
  remember(origin: string, header: string | string[] | undefined, ticket: number): void {
    const value = nonceOf(header);
    if (value === undefined) return;
    const known = this.#nonces.get(origin);
    if (known !== undefined && known.ticket > ticket) return;
    this.#nonces.delete(origin);
    this.#nonces.set(origin, { nonce: value, ticket });
    while (this.#nonces.size > this.#max) this.#nonces.delete(this.#nonces.keys().next().value!);
  }

  get size(): number {
    return this.#nonces.size;
  }
}

/** NQCHAR = %x21 / %x23-5B / %x5D-7E, bounded so a hostile server cannot grow proofs. */
const NONCE = /^[\x21\x23-\x5b\x5d-\x7e]{1,512}$/;

/** The nonce a `DPoP-Nonce` header gives (its last value), if it is a valid one. */
export function nonceOf(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[header.length - 1] : header;
  return value !== undefined && NONCE.test(value) ? value : undefined;
}
