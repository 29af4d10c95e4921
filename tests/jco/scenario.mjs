// The parity scenario, run by the Node host (host.mjs) against a simulated ADO in another
// process. The Rust test `tests/e2e/jco_parity.rs` runs the same scenario in the wasmtime
// harness and compares the two.
//
//   node scenario.mjs --component <ado_sync_plugin.wasm> --sim <http://127.0.0.1:PORT>
//
// Protocol (one JSON document per line): before each step the script prints
// `{"type":"step","step":NAME}` and waits for one line on stdin, `{"input":VALUE}`. That pause
// lets the driver note which requests the simulator received during which step, and act as "a
// person in ADO" before a step (the webhook step's input is the service-hook delivery the
// simulator produced). At the end it prints `{"type":"result",...}`: every step's outcome (the
// component's value as jco returns it, or its `sync-error`), the egress attempts of each step,
// the plugin's storage, and the host workspace.

import { createInterface } from 'node:readline';
import { clocks } from '@bytecodealliance/preview2-shim';
import { Egress, MemoryStorage, MemoryVault, loadPlugin, originOf } from './host.mjs';

const CLOUD_URL = 'https://dev.azure.com/contoso';
const ELSEWHERE_URL = 'https://contoso-elsewhere.visualstudio.com';
const EMAIL = 'builder@contoso.example';
/** Where the host product would receive ADO's service hooks. */
const PUBLIC_URL = 'https://sync.acme.example';
/** The administrator's list of ADO instances a connect may reach. */
const PERMITTED_CONNECT_TARGETS = [CLOUD_URL];

function arg(name) {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0 || i + 1 >= process.argv.length) {
    throw new Error(`usage: node scenario.mjs --component <wasm> --sim <url> (missing --${name})`);
  }
  return process.argv[i + 1];
}

/** JSON for WIT values as jco represents them: bigint → number, bytes → array, none → null. */
function toJson(value) {
  return JSON.stringify(value, (_key, v) => {
    if (v === undefined) return null;
    if (typeof v === 'bigint') return Number(v);
    if (v instanceof Uint8Array) return Array.from(v);
    return v;
  });
}

/** Write one line; resolves once it is handed to the OS (a pipe takes large lines in parts). */
function emit(message) {
  return new Promise((resolve, reject) => {
    process.stdout.write(`${toJson(message)}\n`, (e) => (e ? reject(e) : resolve()));
  });
}

const stdinLines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();

/** Announce a step and wait for the driver's go-ahead (and the step's input). */
async function announce(step) {
  await emit({ type: 'step', step });
  const { value, done } = await stdinLines.next();
  if (done) throw new Error(`stdin closed before step ${step}`);
  return JSON.parse(value).input;
}

/**
 * The wall clock, which the driver may pin for one step. The connection id is a hash of (URL,
 * name, the time of connecting); pinning `connect` to the other host's connect time makes the
 * ids, and everything derived from them, comparable byte for byte.
 */
class PinnableWallClock {
  #pinned = null;

  /** Pin to an RFC 3339 UTC time (`…T…Z`, any fraction), or unpin with null. */
  pin(rfc3339) {
    if (rfc3339 == null) {
      this.#pinned = null;
      return;
    }
    const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?Z$/.exec(rfc3339);
    if (!m) throw new Error(`cannot pin the clock to ${rfc3339}`);
    this.#pinned = {
      seconds: BigInt(Date.parse(`${m[1]}Z`) / 1000),
      nanoseconds: Number((m[2] ?? '').padEnd(9, '0')),
    };
  }

  /** The `wasi:clocks/wall-clock` import (jco takes its functions off the object: no `this`). */
  imports() {
    return {
      now: () => this.#pinned ?? clocks.wallClock.now(),
      resolution: () => clocks.wallClock.resolution(),
    };
  }
}

/** `current` with `parts` taken from `item` (a `patch` host change). */
function patched(current, item, parts) {
  const out = { ...current, fields: current.fields.map((f) => ({ ...f })) };
  const builtIn = ['title', 'description', 'parent', 'status', 'sprint', 'tags', 'releases'];
  for (const part of parts) {
    if (builtIn.includes(part)) {
      out[part] = item[part];
      continue;
    }
    const value = item.fields.find((f) => f.field === part)?.value;
    const entry = out.fields.find((f) => f.field === part);
    if (entry) entry.value = value;
    else out.fields.push({ field: part, value });
  }
  return out;
}

/** The host workspace: the items the component's host changes produced. */
class Workspace {
  items = new Map();

  apply(changes) {
    for (const change of changes) {
      if (change.tag === 'delete') this.items.delete(change.val);
      else if (change.tag === 'patch') {
        const { item, parts } = change.val;
        const current = this.items.get(item.id);
        this.items.set(item.id, current ? patched(current, item, parts) : item);
      } else this.items.set(change.val.id, change.val);
    }
  }

  list() {
    return [...this.items.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }
}

async function main() {
  const simUrl = arg('sim');
  const storage = new MemoryStorage();
  const vault = new MemoryVault();
  const egress = new Egress();
  // Tests send ADO's origin to the simulator; everything else stays denied unless allowed.
  egress.redirect('https://dev.azure.com', simUrl);
  const wallClock = new PinnableWallClock();
  const plugin = await loadPlugin({
    componentPath: arg('component'),
    storage,
    vault,
    egress,
    wallClock: wallClock.imports(),
    // Like the reference host, which the result is compared with: a new instance per call.
    freshInstancePerCall: true,
  });
  const { configure, onWebhook, syncOnce, mapItem } = plugin;
  const workspace = new Workspace();
  const steps = [];

  // The allow-list is rebuilt from the stored connections, plus a connect's target while it runs.
  async function refreshAllowList(extra) {
    const connections = await configure.listConnections();
    egress.allowOnly([...connections.map((c) => c.baseUrl), ...(extra ? [extra] : [])]);
  }

  async function connect(name, target) {
    const url = target.val.url ?? target.val.collectionUrl;
    const permitted = PERMITTED_CONNECT_TARGETS.some((u) => originOf(u) === originOf(url));
    await refreshAllowList(permitted ? url : null);
    try {
      return await configure.connect(name, target);
    } finally {
      await refreshAllowList(null);
    }
  }

  /** Run one step: announce it, call `body(input)`, record its outcome and egress attempts. */
  async function step(name, body) {
    const input = await announce(name);
    const from = egress.log.length;
    let outcome;
    try {
      outcome = { ok: await body(input) };
    } catch (e) {
      if (!(e instanceof Error && 'payload' in e)) throw e;
      outcome = { err: e.payload };
    }
    steps.push({ step: name, outcome, egress: egress.log.slice(from) });
    return outcome.ok;
  }

  await refreshAllowList(null);
  await step('set-workspace-schema', (schema) => configure.setWorkspaceSchema(schema));
  const conn = await step('connect', async ({ pat, pinClock }) => {
    wallClock.pin(pinClock ?? null);
    try {
      return await connect('Contoso', { tag: 'cloud', val: { url: CLOUD_URL, email: EMAIL, pat } });
    } finally {
      wallClock.pin(null);
    }
  });
  await step('connect-outside-permitted-targets', ({ pat }) =>
    connect('Elsewhere', { tag: 'cloud', val: { url: ELSEWHERE_URL, email: EMAIL, pat } }),
  );
  const integration = await step('add-project', () => configure.addProject(conn.id, 'Fabrikam', 'Fabrikam'));
  const mapping = await step('propose-mapping', () => configure.proposeMapping(integration.id, false));
  await step('set-mapping', () => configure.setMapping(integration.id, mapping));
  const synced = await step('sync-ado-to-host', () =>
    syncOnce.run({
      integration: integration.id,
      direction: 'ado-to-host',
      adoFilter: { openOnly: false, workItemTypes: [], tags: [] },
      hostScope: { tag: 'whole-workspace' },
      hostItems: [],
      dryRun: false,
      pageSize: undefined,
      cursor: undefined,
    }),
  );
  workspace.apply(synced.changes);
  await step('provision-webhook', () => onWebhook.provision(conn.id, PUBLIC_URL));
  const path = await step('webhook-path', () => onWebhook.webhookPath());
  // The input is what ADO delivered after "Dana" edited a story: headers (with the delivery
  // credential of the subscription) and the JSON body.
  const delivered = await step('handle-webhook', ({ headers, body }) =>
    onWebhook.handle({ path, headers, body: new TextEncoder().encode(body) }),
  );
  if (delivered.tag === 'applied') workspace.apply(delivered.val);
  await step('webhook-status', () => onWebhook.status(conn.id));
  await step('history', ({ workItem }) => syncOnce.history(integration.id, { tag: 'ado', val: BigInt(workItem) }));
  await step('map-item-to-host', ({ workItemJson }) => mapItem.toHost(integration.id, workItemJson));

  // A host-side story under the "Account management" feature goes to ADO.
  const feature = workspace.list().find((i) => i.title === 'Account management');
  const story = {
    id: 'host-story-jco',
    itemType: 'story',
    title: 'Export invoices as PDF',
    description: '<p>Finance asked for it.</p>',
    parent: feature?.id,
    status: 'in-progress',
    sprint: 'sprint-2',
    releases: ['r-2026-1'],
    tags: ['finance'],
    fields: [
      { field: 'effort', value: { tag: 'number', val: 5 } },
      { field: 'objective', value: { tag: 'text', val: 'Self-service billing' } },
    ],
  };
  workspace.apply([{ tag: 'create', val: story }]);
  await step('sync-host-to-ado', () =>
    syncOnce.run({
      integration: integration.id,
      direction: 'host-to-ado',
      adoFilter: { openOnly: false, workItemTypes: [], tags: [] },
      hostScope: { tag: 'items', val: [story.id] },
      hostItems: workspace.list(),
      dryRun: false,
      pageSize: undefined,
      cursor: undefined,
    }),
  );
  await step('map-item-to-ado', () => mapItem.toAdo(integration.id, story));

  await announce('end');
  await emit({ type: 'result', steps, storage: storage.dump(), workspace: workspace.list() });
}

// Exit explicitly (the shim's worker would keep Node alive), but only once stdout is flushed:
// `process.exit` drops what a pipe has not taken yet, and the result line is large.
main().then(
  () => process.exit(0),
  (e) =>
    emit({ type: 'fatal', message: String(e?.stack ?? e) }).finally(() => process.exit(1)),
);
