import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { SpyglassError } from '@spyglass/protocol';

/**
 * Addresses no trigger or data-store poll may reach unless `allow` names them: link-local (cloud metadata services
 * answer there, `169.254.169.254` and AWS's `fd00:ec2::254`) and the unspecified addresses.
 */
export const DEFAULT_DENIED_NETWORKS = ['169.254.0.0/16', 'fe80::/10', 'fd00:ec2::254/128', '0.0.0.0/32', '::/128'];

/** Where a trigger may connect: an allow list (empty = anywhere), a deny list and the hub's own ports. */
export interface NetworkPolicyOptions {
  allow: readonly string[];
  deny: readonly string[];
  allowSelf: boolean;
  /** The hub's own listening ports right now (API, OTLP/HTTP, OTLP/gRPC). */
  ownPorts: () => readonly number[];
}

function blockList(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const c of cidrs) {
    const [addr = '', bits] = c.split('/');
    const type = isIP(addr) === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(addr, type);
    else list.addSubnet(addr, Number(bits), type);
  }
  return list;
}

const LOCAL_V4 = blockList(['127.0.0.0/8', '0.0.0.0/32']);
const LOCAL_V6 = blockList(['::1/128', '::/128']);

/**
 * This host's own interface addresses: a hub listening on every interface is as much "itself" on its LAN address as on
 * loopback. Read at most every 10 s (interfaces come and go).
 */
let ownAddresses: { at: number; set: Set<string> } | null = null;
function hostAddresses(): Set<string> {
  const now = Date.now();
  if (ownAddresses === null || now - ownAddresses.at > 10_000) {
    const set = new Set<string>();
    for (const list of Object.values(networkInterfaces())) for (const i of list ?? []) set.add(i.address.toLowerCase());
    ownAddresses = { at: now, set };
  }
  return ownAddresses.set;
}

/** Unwraps `::ffff:1.2.3.4` so IPv4 rules apply to IPv4-mapped IPv6 addresses. */
function normalise(address: string): { address: string; family: 4 | 6 } {
  const m = /^(?:0{0,4}:){0,5}:?ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (m?.[1] !== undefined) return { address: m[1], family: 4 };
  // The URL parser writes mapped addresses in hex (`::ffff:a9fe:a9fe`).
  const h = /^(?:0{0,4}:){0,5}:?ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address);
  if (h?.[1] !== undefined && h[2] !== undefined) {
    const hi = parseInt(h[1], 16);
    const lo = parseInt(h[2], 16);
    return { address: `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`, family: 4 };
  }
  return { address, family: isIP(address) === 6 ? 6 : 4 };
}

/**
 * The outbound policy of trace-test triggers and data-store polls. Every address is decided before a connection is
 * opened: IP literals directly, names by resolving them here; the caller then connects to exactly the address that was
 * checked (no second resolution a hostile DNS server could answer differently), and checks again after a redirect.
 */
export class NetworkPolicy {
  readonly #allow: BlockList | null;
  readonly #deny: BlockList;
  readonly #options: NetworkPolicyOptions;

  constructor(options: NetworkPolicyOptions) {
    this.#options = options;
    this.#allow = options.allow.length === 0 ? null : blockList(options.allow);
    this.#deny = blockList(options.deny);
  }

  /** Why `address:port` may not be reached, or null when it may. */
  refusal(address: string, port: number): string | null {
    const { address: a, family } = normalise(address);
    const type = family === 6 ? 'ipv6' : 'ipv4';
    if (this.#deny.check(a, type)) return `${a} is in a denied network (tests.network.deny)`;
    if (this.#allow !== null && !this.#allow.check(a, type))
      return `${a} is not in an allowed network (tests.network.allow)`;
    if (!this.#options.allowSelf) {
      const local =
        (family === 6 ? LOCAL_V6.check(a, 'ipv6') : LOCAL_V4.check(a, 'ipv4')) || hostAddresses().has(a.toLowerCase());
      if (local && this.#options.ownPorts().includes(port))
        return `${a}:${port} is this hub's own listener (set tests.network.allowSelf to allow it)`;
    }
    return null;
  }

  /** Throws a coded error when `address:port` may not be reached. */
  check(address: string, port: number, what: string): void {
    const why = this.refusal(address, port);
    if (why !== null) throw new SpyglassError('FORBIDDEN', `${what} refused: ${why}`);
  }

  /** Resolves a host (IP literal or name) and checks every address; answers the first allowed one. */
  async resolve(host: string, port: number, what: string): Promise<string> {
    const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
    if (isIP(bare) !== 0) {
      this.check(bare, port, what);
      return bare;
    }
    const addresses = await new Promise<LookupAddress[]>((resolve, reject) =>
      dnsLookup(bare, { all: true }, (err, a) => (err === null ? resolve(a) : reject(err))),
    ).catch((err: unknown) => {
      throw new SpyglassError('INVALID_INPUT', `${what}: cannot resolve ${bare} (${(err as Error).message})`);
    });
    let why = 'no address';
    for (const a of addresses) {
      const r = this.refusal(a.address, port);
      if (r === null) return a.address;
      why = r;
    }
    throw new SpyglassError('FORBIDDEN', `${what} refused: ${bare} → ${why}`);
  }
}
