/** Faults end-to-end tests inject: a TCP relay that can cut a connection, and reads of the event log. */
import net from 'node:net';
import { Client } from 'pg';
import { docker } from './docker';
import { freePort } from './processes';

export interface Relay {
  url: string;
  /** Where the relay forwards to, read at each new connection. */
  target: { port: number };
  /** Destroys every connection through the relay and refuses new ones until `restore`. */
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

/** A TCP relay on 127.0.0.1 that the test controls: every connection is piped to `target.port`. */
export async function startRelay(): Promise<Relay> {
  const port = await freePort();
  const target = { port: 0 };
  const open = new Set<net.Socket>();
  let refusing = false;
  const server = net.createServer((inbound) => {
    if (refusing) return void inbound.destroy();
    const outbound = net.connect(target.port, '127.0.0.1');
    for (const s of [inbound, outbound]) {
      open.add(s);
      s.on('error', () => undefined);
      s.on('close', () => {
        open.delete(s);
        inbound.destroy();
        outbound.destroy();
      });
    }
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${port}`,
    target,
    cut() {
      refusing = true;
      for (const s of open) s.destroy();
    },
    restore() {
      refusing = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}

export interface LoggedEvent {
  position: number;
  type: string;
  streamId: string;
  data: Record<string, unknown>;
}

/** Events of the given types, in log order, straight from the events table. */
export async function readEvents(databaseUrl: string, types: string[], afterPosition = 0): Promise<LoggedEvent[]> {
  const c = new Client({ connectionString: databaseUrl });
  await c.connect();
  try {
    const { rows } = await c.query<{ position: string; type: string; stream_id: string; data: Record<string, unknown> }>(
      'SELECT global_position AS position, type, stream_id, data FROM events WHERE type = ANY($1) AND global_position > $2 ORDER BY global_position',
      [types, afterPosition],
    );
    return rows.map((r) => ({ position: Number(r.position), type: r.type, streamId: r.stream_id, data: r.data }));
  } finally {
    await c.end();
  }
}

export async function lastPosition(databaseUrl: string): Promise<number> {
  const c = new Client({ connectionString: databaseUrl });
  await c.connect();
  try {
    const { rows } = await c.query<{ p: string | null }>('SELECT max(global_position) AS p FROM events');
    return Number(rows[0].p ?? 0);
  } finally {
    await c.end();
  }
}

/** Ids of the containers of an app on the host, running or not (`docker ps -a` by label). */
export async function appContainers(appId: string): Promise<{ id: string; state: string }[]> {
  const list = await docker.listContainers({ all: true, filters: { label: [`berth.app=${appId}`] } });
  return list.map((c) => ({ id: c.Id, state: c.State }));
}
