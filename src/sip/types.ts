/**
 * Shapes of the SIP message layer (RFC 3261 §7, §19, §20, §25). Plain data: URIs, name-addrs and
 * header values are small objects with a `params` map. The classes in message.ts implement the
 * message interfaces; codecs in headers/ produce these shapes.
 */

/**
 * Parameters keep their order; a flag parameter (`;lr`) has the value `null`. Names lower-cased.
 * URI parameter values are unescaped (`%41` -> `A`, re-escaped by formatUri); header parameter
 * values (after a name-addr, a Via...) are kept as written: a quoted-string keeps its quotes
 * (`unquote`/`quote` in headers/params.ts). A repeated name keeps its first value.
 */
export type Params = Map<string, string | null>;

export interface SipUri {
  readonly scheme: 'sip' | 'sips';
  /** Unescaped user part (RFC 3261 §19.1.2: `%22` -> `"`), or undefined. */
  user: string | undefined;
  password: string | undefined;
  /** Host as written, IPv6 with its brackets (`[::1]`), domain names lower-cased. */
  host: string;
  port: number | undefined;
  params: Params;
  /** URI headers (`?subject=x`), unescaped. */
  headers: Map<string, string>;
}

export interface TelUri {
  readonly scheme: 'tel';
  /** The number as written, visual separators kept (RFC 3966). */
  number: string;
  params: Params;
}

/** Any other absolute URI (RFC 3261 §19.1: im:, pres:, http:...), kept opaque. */
export interface OtherUri {
  readonly scheme: string;
  readonly raw: string;
}

export type Uri = SipUri | TelUri | OtherUri;

/** name-addr / addr-spec with header parameters: From, To, Contact, Route, Record-Route, Path. */
export interface NameAddr {
  displayName: string | undefined;
  uri: Uri;
  params: Params;
}

/** One Via value (RFC 3261 §20.42). */
export interface Via {
  /** `SIP/2.0` */
  protocol: string;
  /** Upper-case transport: UDP, TCP, TLS, SCTP, WS, WSS, or an extension token. */
  transport: string;
  host: string;
  port: number | undefined;
  params: Params;
}

export interface CSeq {
  seq: number;
  method: string;
}

/** A Contact header value; `star` is the wildcard `Contact: *` (RFC 3261 §10.2.2). */
export type ContactValue = { star: true } | ({ star: false } & NameAddr);

/** Digest credentials or challenge (RFC 3261 §25.1, RFC 7616). Param names lower-cased, values unquoted. */
export interface AuthParams {
  scheme: string;
  params: Map<string, string>;
}

export interface RawHeader {
  /** Lower-case long form (`v` -> `via`). */
  name: string;
  value: string;
}

export type SipMethod = string;
