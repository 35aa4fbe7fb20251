/**
 * @module serve
 * `vigil serve`: load the configuration (exit 2 naming the key when it is bad, or the data directory when the hub
 * cannot create or write it), start the hub, reload the configuration on SIGHUP (a bad one is logged and the running
 * one kept), and shut down gracefully on SIGINT/SIGTERM within `shutdown_timeout`.
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config/load.js';
import { Hub } from '../hub.js';

export const SERVE_USAGE = `Usage: vigil serve [--host H] [--port P] [--data DIR] [--config FILE] [--insecure]
                   [--broker memory|redis] [--broker-url URL] [--store sqlite|postgres] [--store-url URL]

Starts the hub. Environment: VIGIL_HOST, VIGIL_PORT, VIGIL_DATA_DIR, VIGIL_CONFIG, VIGIL_LOG_LEVEL, VIGIL_NODE_ID,
VIGIL_INSECURE, VIGIL_BROKER, VIGIL_BROKER_URL, VIGIL_BROKER_PREFIX, VIGIL_STORE, VIGIL_STORE_URL,
VIGIL_STORE_SCHEMA. Flags override the environment, which
overrides the config file. --insecure allows binding a non-loopback address while authentication is not configured.
--broker redis runs this hub as one node of a cluster sharing channels through Redis, --store postgres shares
alerts, incidents and tasks through PostgreSQL (see docs/cluster.md).`;

export async function serve(argv: string[]): Promise<number> {
  let values: {
    host?: string;
    port?: string;
    data?: string;
    config?: string;
    insecure?: boolean;
    broker?: string;
    'broker-url'?: string;
    store?: string;
    'store-url'?: string;
    help?: boolean;
  };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        host: { type: 'string' },
        port: { type: 'string' },
        data: { type: 'string' },
        config: { type: 'string' },
        insecure: { type: 'boolean' },
        broker: { type: 'string' },
        'broker-url': { type: 'string' },
        store: { type: 'string' },
        'store-url': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (err) {
    process.stderr.write(`vigil serve: ${(err as Error).message}\n${SERVE_USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${SERVE_USAGE}\n`);
    return 0;
  }
  let config: ReturnType<typeof loadConfig>;
  const load = () =>
    loadConfig({
      flags: {
        host: values.host,
        port: values.port,
        data_dir: values.data,
        config: values.config,
        insecure: values.insecure,
        broker: values.broker,
        broker_url: values['broker-url'],
        store: values.store,
        store_url: values['store-url'],
      },
    });
  try {
    config = load();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`vigil: invalid configuration: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  let hub: Hub;
  try {
    hub = await Hub.create(config, { loadConfig: load });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`vigil: invalid configuration: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  // SIGHUP reloads the configuration; a refused one is reported and the running one stays.
  const onHangup = () => {
    hub.log.info({ signal: 'SIGHUP' }, 'reloading configuration');
    hub.reload().then(
      (result) => process.stdout.write(`Vigil reloaded its configuration: ${JSON.stringify(result)}\n`),
      (err: unknown) => {
        const message = err instanceof Error ? err.message : String(err);
        hub.log.error({ err: message }, 'configuration reload refused; the running configuration stays');
        process.stderr.write(`vigil: configuration reload refused: ${message}\n`);
      },
    );
  };
  process.on('SIGHUP', onHangup);
  let address: Awaited<ReturnType<Hub['listen']>>;
  try {
    address = await hub.listen();
  } catch (err) {
    process.stderr.write(`vigil: cannot listen on ${config.host}:${config.port}: ${(err as Error).message}\n`);
    return 1;
  }
  hub.log.info({ url: address.url, data_dir: config.dataDir, config: config.source ?? null }, 'vigil listening');
  process.stdout.write(
    `Vigil listening on ${address.url} (endpoints ${address.url}/, WebSocket ${address.url.replace('http', 'ws')}${config.gateway.path})\n`,
  );

  return await new Promise<number>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      // A SIGHUP during shutdown is ignored rather than ending the process.
      process.off('SIGHUP', onHangup);
      process.on('SIGHUP', () => {});
      hub.log.info({ signal }, 'shutting down');
      const force = setTimeout(() => {
        hub.log.warn('shutdown timed out; exiting');
        resolve(1);
      }, config.shutdownTimeoutMs);
      force.unref();
      hub.stop().then(
        () => {
          clearTimeout(force);
          resolve(0);
        },
        (err: unknown) => {
          hub.log.error({ err }, 'shutdown failed');
          resolve(1);
        },
      );
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
}
