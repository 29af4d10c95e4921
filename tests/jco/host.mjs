// A Node host for the ado-sync component, through jco.
//
// The release component is transpiled with jco in *instantiation* mode, so this file — not
// jco's defaults — decides every import the component gets:
//
//   ado-sync:plugin/storage   MemoryStorage: versioned key-value store with compare-and-swap
//   ado-sync:plugin/secrets   MemoryVault: where PATs and passwords live
//   wasi:http/*               preview2-shim's HTTP client behind Egress, the allow-list choke point
//   wasi:cli/environment      empty (the shim's default would hand the guest process.env)
//   wasi:cli/stdin            none: getting it traps (the shim's would read the process's stdin)
//   wasi:cli/stdout           the process's stderr (stdout is the scenario's protocol channel)
//   wasi:cli/exit             traps (the shim's would end the whole Node process)
//   other wasi:*              preview2-shim as is (clocks, random, io streams and polls)
//
// The shim runs outgoing HTTP on a worker and blocks Node's main thread while a call is in
// flight, so whatever the component talks to must live in another process (and a Node server
// embedding the component should call it from a worker thread, not its event loop).
//
// jco's JavaScript for the component's instantiation is large: a fresh instance costs roughly
// 0.3–0.5 s here, against microseconds in wasmtime. The component keeps no state between calls
// (it is all in storage), so one instance can serve every call; `freshInstancePerCall` mirrors
// the reference host's instance-per-call instead, which the parity test uses.

import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { transpile } from '@bytecodealliance/jco';
import * as shim from '@bytecodealliance/preview2-shim';

/** Largest stored value, as in the reference host (`MAX_VALUE_BYTES`). */
export const MAX_VALUE_BYTES = 8 * 1024 * 1024;

const ok = (val) => ({ tag: 'ok', val });
const err = (val) => ({ tag: 'err', val });

/**
 * The `storage` import in memory. Versions come from one counter for the whole store, so a key
 * that is deleted and written again never reuses a version (no ABA for compare-and-swap).
 */
export class MemoryStorage {
  #entries = new Map(); // key -> { value: Uint8Array, version: bigint }
  #last = 0n;

  #write(key, value) {
    this.#last += 1n;
    // Copy: the bytes jco hands over must not alias anything the guest may reuse.
    this.#entries.set(key, { value: Uint8Array.from(value), version: this.#last });
    return this.#last;
  }

  /** The import object for `ado-sync:plugin/storage` (every function returns a WIT result). */
  imports() {
    const tooLarge = (value) =>
      value.length > MAX_VALUE_BYTES ? err({ tag: 'too-large', val: `${value.length} bytes` }) : null;
    return {
      get: (key) => {
        const e = this.#entries.get(key);
        return ok(e ? { value: Uint8Array.from(e.value), version: e.version } : undefined);
      },
      set: (key, value) => tooLarge(value) ?? ok(this.#write(key, value)),
      delete: (key) => {
        this.#entries.delete(key);
        return ok(undefined);
      },
      listKeys: (prefix) => ok([...this.#entries.keys()].filter((k) => k.startsWith(prefix)).sort(byCodeUnit)),
      compareAndSwap: (key, expected, value) => {
        const big = tooLarge(value);
        if (big) return big;
        const current = this.#entries.get(key)?.version;
        // `expected` is a bigint, or undefined for "only if absent".
        if (current !== expected) return ok(undefined);
        return ok(this.#write(key, value));
      },
    };
  }

  /** Every key starting with `prefix`, ascending, with its value as text. */
  dump(prefix = '') {
    const text = new TextDecoder();
    return [...this.#entries.keys()]
      .filter((k) => k.startsWith(prefix))
      .sort(byCodeUnit)
      .map((key) => ({ key, value: text.decode(this.#entries.get(key).value) }));
  }
}

// Keys compare by UTF-16 code unit, like the reference host's BTreeMap for the ASCII keys the
// plugin writes.
function byCodeUnit(a, b) {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The `secrets` import in memory. A real host would encrypt these at rest. */
export class MemoryVault {
  #secrets = new Map();

  imports() {
    return {
      put: (name, value) => {
        this.#secrets.set(name, value);
        return ok(undefined);
      },
      get: (name) => ok(this.#secrets.get(name)),
      forget: (name) => {
        this.#secrets.delete(name);
        return ok(undefined);
      },
    };
  }
}

/** `scheme://host[:port]`, lower-case, default port dropped; null when `url` is not a URL. */
export function originOf(url) {
  try {
    const u = new URL(String(url).trim());
    return u.host ? `${u.protocol}//${u.host}`.toLowerCase() : null;
  } catch {
    return null;
  }
}

function schemeName(scheme) {
  if (!scheme) return 'https'; // the shim's default, too
  if (scheme.tag === 'HTTP') return 'http';
  if (scheme.tag === 'HTTPS') return 'https';
  return String(scheme.val).toLowerCase();
}

/**
 * The one choke point every guest HTTP request passes: deny by default, allow only listed
 * origins, optionally send an origin elsewhere (tests: ADO's origin to the simulator).
 * A denied request fails with wasi:http's `HTTP-request-denied` error code — never a trap.
 */
export class Egress {
  #allowed = new Set();
  #redirects = new Map();
  /** Every attempt: method, the URL the guest asked for, and whether it was allowed. No headers. */
  log = [];

  /** Replace the allow-list with the origins of `urls`. */
  allowOnly(urls) {
    this.#allowed = new Set(urls.map(originOf).filter(Boolean));
  }

  /** Send requests for the origin of `from` to the origin of `to` (path kept). */
  redirect(from, to) {
    const f = originOf(from);
    const t = originOf(to);
    if (!f || !t) throw new Error(`cannot redirect ${from} to ${to}`);
    this.#redirects.set(f, new URL(t));
  }

  /** Whether the origin of `url` is allowed. */
  allows(url) {
    return this.#allowed.has(originOf(url));
  }

  /** `wasi:http/outgoing-handler` enforcing this policy in front of `inner` (the shim's). */
  wrap(inner) {
    return {
      handle: (request, options) => {
        const method = request.method();
        const url = `${schemeName(request.scheme())}://${request.authority() ?? ''}${request.pathWithQuery() ?? ''}`;
        const allowed = this.allows(url);
        this.log.push({ method: (method.val ?? method.tag).toUpperCase(), url, allowed });
        if (!allowed) throw { tag: 'HTTP-request-denied' };
        const target = this.#redirects.get(originOf(url));
        if (target) {
          request.setScheme({ tag: target.protocol === 'http:' ? 'HTTP' : 'HTTPS' });
          request.setAuthority(target.host);
        }
        return inner.handle(request, options);
      },
    };
  }
}

/** Transpile `componentPath` once per content hash into a cache directory; returns that directory. */
export async function transpileOnce(componentPath, cacheRoot = join(tmpdir(), 'ado-sync-jco')) {
  const bytes = await readFile(componentPath);
  const hash = createHash('sha256').update(bytes).digest('hex').slice(0, 16);
  const dir = join(cacheRoot, hash);
  try {
    await readFile(join(dir, 'ado_sync_plugin.js'));
    return dir;
  } catch {
    // not cached yet
  }
  const { files } = await transpile(bytes, {
    name: 'ado_sync_plugin',
    instantiation: 'async',
    noTypescript: true,
    quiet: true,
  });
  // Write beside the cache entry, then rename: a concurrent run never sees half a directory.
  await mkdir(cacheRoot, { recursive: true });
  const staging = await mkdtemp(join(cacheRoot, 'staging-'));
  for (const [name, content] of Object.entries(files)) {
    const path = join(staging, name);
    await mkdir(join(path, '..'), { recursive: true });
    await writeFile(path, content);
  }
  try {
    await rename(staging, dir);
  } catch {
    await rm(staging, { recursive: true, force: true }); // another run got there first
  }
  return dir;
}

/**
 * Load the component with the given storage, vault and egress policy (and optionally a
 * `wasi:clocks/wall-clock` of your own: `{ now, resolution }`).
 * Returns the exports: `{ configure, onWebhook, syncOnce, mapItem }`, by default the one
 * instance's synchronous functions; with `freshInstancePerCall` every call runs in a new
 * instance and returns a promise. A failing call throws a jco `ComponentError` whose `payload`
 * is the `sync-error`.
 */
export async function loadPlugin({
  componentPath,
  storage,
  vault,
  egress,
  wallClock = shim.clocks.wallClock,
  cacheRoot,
  freshInstancePerCall = false,
}) {
  const dir = await transpileOnce(componentPath, cacheRoot);
  const { instantiate } = await import(pathToFileURL(join(dir, 'ado_sync_plugin.js')).href);
  const { cli, clocks, http, io, random } = shim;
  const imports = {
    'ado-sync:plugin/storage': storage.imports(),
    'ado-sync:plugin/secrets': vault.imports(),
    'wasi:http/outgoing-handler': egress.wrap(http.outgoingHandler),
    'wasi:http/types': http.types,
    'wasi:cli/environment': {
      getEnvironment: () => [],
      getArguments: () => [],
      initialCwd: () => undefined,
    },
    'wasi:cli/exit': {
      exit: (status) => {
        throw new Error(`the component called wasi:cli/exit (${status?.tag ?? status})`);
      },
    },
    'wasi:cli/stdin': {
      getStdin: () => {
        throw new Error('the component may not read the host process stdin');
      },
    },
    'wasi:cli/stdout': { getStdout: cli.stderr.getStderr },
    'wasi:cli/stderr': cli.stderr,
    'wasi:cli/terminal-input': cli.terminalInput,
    'wasi:cli/terminal-output': cli.terminalOutput,
    'wasi:cli/terminal-stdin': cli.terminalStdin,
    'wasi:cli/terminal-stdout': cli.terminalStdout,
    'wasi:cli/terminal-stderr': cli.terminalStderr,
    'wasi:clocks/monotonic-clock': clocks.monotonicClock,
    'wasi:clocks/wall-clock': wallClock,
    'wasi:io/error': io.error,
    'wasi:io/poll': io.poll,
    'wasi:io/streams': io.streams,
    'wasi:random/random': random.random,
    'wasi:random/insecure-seed': random.insecureSeed,
  };
  // Interfaces the list above does not name are taken from the shim only when they grant no
  // authority (clocks, random, io); anything else the component starts importing fails loudly.
  for (const ns of ['clocks', 'random', 'io']) {
    for (const [name, iface] of Object.entries(shim[ns])) {
      const key = `wasi:${ns}/${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
      imports[key] ??= iface;
    }
  }
  const modules = new Map();
  const compile = async (name) => {
    if (!modules.has(name)) modules.set(name, await WebAssembly.compile(await readFile(join(dir, name))));
    return modules.get(name);
  };
  const first = await instantiate(compile, imports);
  if (!freshInstancePerCall) {
    return pick(first);
  }
  // Like the reference host: every call gets a new instance, all state is in storage.
  const plugin = {};
  for (const [iface, fns] of Object.entries(pick(first))) {
    plugin[iface] = {};
    for (const fn of Object.keys(fns)) {
      plugin[iface][fn] = async (...args) => (await instantiate(compile, imports))[iface][fn](...args);
    }
  }
  return plugin;
}

function pick(instance) {
  const { configure, onWebhook, syncOnce, mapItem } = instance;
  return { configure, onWebhook, syncOnce, mapItem };
}
