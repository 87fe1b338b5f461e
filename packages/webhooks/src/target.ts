import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { isIP, type LookupFunction } from "node:net";
import ipaddr from "ipaddr.js";

// SSRF safety for customers' endpoints (DESIGN-2.md "Customers' webhooks", ADR 0023): checked
// when an endpoint is created or changed, and again at every delivery, where the connection is
// made only to an address this module approved (guardedLookup), so a name that resolved to a
// public address at the check cannot rebind to a private one for the connect.

export type TargetPolicy = {
  /** WEBHOOK_ALLOW_INSECURE: http:// as well as https://. */
  allowInsecure: boolean;
  /** WEBHOOK_ALLOW_PRIVATE_TARGETS: loopback, private, link-local and metadata addresses too. */
  allowPrivate: boolean;
};

export class UnsafeTargetError extends Error {
  override name = "UnsafeTargetError";
}

// What a tenant is told of a name that resolves to an address it may not use, or does not
// resolve: not the address nor the resolver's error, which would map the network inside.
const NON_PUBLIC = "resolves to a non-public address";
const IPV4_COMPATIBLE = ipaddr.parseCIDR("::/96") as [ipaddr.IPv6, number];

/**
 * Why an address may not be a target, or null when it may: only global unicast addresses pass
 * (ipaddr.js's `unicast` range). An IPv4-mapped IPv6 address is judged as its IPv4 address; an
 * IPv4-compatible one (::a.b.c.d, deprecated, still routed to a.b.c.d by some stacks) is refused.
 */
export function forbiddenAddressReason(address: string): string | null {
  if (!ipaddr.isValid(address)) return "not an IP address";
  const range = ipaddr.process(address).range();
  if (range !== "unicast") return `${address} is a ${range} address`;
  // Addresses come as dns.lookup and WHATWG URL write them (::7f00:1, never ::127.0.0.1).
  if (ipaddr.IPv6.isValid(address) && ipaddr.IPv6.parse(address).match(IPV4_COMPATIBLE)) return `${address} is an IPv4-compatible IPv6 address`;
  return null;
}

/**
 * The URL's own problems, before any DNS: a scheme other than https (or http when allowed),
 * credentials in the URL (they would be logged and stored), or an IP literal that is not allowed.
 */
export function checkUrlShape(raw: string, policy: TargetPolicy): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UnsafeTargetError("not a valid URL");
  }
  const schemes = policy.allowInsecure ? ["https:", "http:"] : ["https:"];
  if (!schemes.includes(url.protocol)) {
    throw new UnsafeTargetError(policy.allowInsecure ? "must be an http or https URL" : "must be an https URL (WEBHOOK_ALLOW_INSECURE is off)");
  }
  if (url.username || url.password) throw new UnsafeTargetError("must not carry credentials");
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  if (!policy.allowPrivate && isIP(host)) {
    const reason = forbiddenAddressReason(host);
    if (reason) throw new UnsafeTargetError(`${reason} (WEBHOOK_ALLOW_PRIVATE_TARGETS is off)`);
  }
  return url;
}

function lookupAll(hostname: string): Promise<LookupAddress[]> {
  return new Promise((resolve, reject) => {
    dnsLookup(hostname, { all: true, verbatim: true }, (err, addresses) => (err ? reject(err) : resolve(addresses)));
  });
}

/**
 * The endpoint check: the URL's shape, then (unless private targets are allowed) every address
 * its host resolves to must be allowed. Throws UnsafeTargetError with the reason.
 */
export async function checkTarget(raw: string, policy: TargetPolicy): Promise<URL> {
  const url = checkUrlShape(raw, policy);
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  if (policy.allowPrivate || isIP(host)) return url;
  let addresses: LookupAddress[];
  try {
    addresses = await lookupAll(host);
  } catch (err) {
    throw new UnsafeTargetError(`${host} does not resolve`);
  }
  for (const { address } of addresses) {
    const reason = forbiddenAddressReason(address);
    if (reason) throw new UnsafeTargetError(`${host} ${NON_PUBLIC} (WEBHOOK_ALLOW_PRIVATE_TARGETS is off)`);
  }
  return url;
}

/**
 * A `lookup` for net/tls connect (undici's `connect.lookup`) that resolves as dns.lookup does
 * but fails when any address is not allowed: the address connected to is the address checked.
 * With private targets allowed it is plain dns.lookup.
 */
export function guardedLookup(policy: TargetPolicy): LookupFunction {
  if (policy.allowPrivate) return dnsLookup as unknown as LookupFunction;
  return ((hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    lookupAll(hostname).then(
      (addresses) => {
        const bad = addresses.map((a) => forbiddenAddressReason(a.address)).find((r) => r !== null);
        if (bad) return callback(new UnsafeTargetError(`${hostname} ${NON_PUBLIC} (WEBHOOK_ALLOW_PRIVATE_TARGETS is off)`));
        if (options.all) return callback(null, addresses);
        const [first] = addresses;
        if (!first) return callback(new UnsafeTargetError(`${hostname} does not resolve`));
        callback(null, first.address, first.family);
      },
      // Not the resolver's error (its code, its servers): it ends up in last_error, which the tenant reads.
      (_err: unknown) => callback(new Error(`${hostname} does not resolve`)),
    );
  }) as unknown as LookupFunction;
}
