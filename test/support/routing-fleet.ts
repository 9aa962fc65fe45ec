/**
 * Appends the events of a routed fleet straight to the event store (workers that said hello, apps with
 * a successful deployment, custom domains), for routing tests and the routing benchmark. The routing
 * projector then builds its read model from them as it would from the real flow.
 */
import type { BerthEvent } from '@berth/contracts';
import { streamIds } from '@berth/contracts';
import type { EventStore, StreamAppend } from '@berth/event-store';
import { randomUUID } from 'node:crypto';

export interface FleetWorker {
  id: string;
  zone?: string;
  advertiseIp: string;
}

export interface FleetApp {
  id: string;
  name: string;
  zone?: string;
  workerId: string;
  hostPort: number;
  domains?: { id: string; hostname: string; verified: boolean }[];
}

const part = (streamId: string, streamType: string, events: BerthEvent[]): StreamAppend => ({ streamId, streamType, expectedVersion: 'any', events });

export function workerEvents(w: FleetWorker): StreamAppend {
  return part(streamIds.worker(w.id), 'worker', [
    { type: 'WorkerRegistered', data: { workerId: w.id, name: `w-${w.id.slice(0, 8)}`, ...(w.zone ? { zone: w.zone } : {}), tokenHash: `hash-${w.id}` } },
    { type: 'WorkerCameOnline', data: { workerId: w.id, capacity: { memoryMb: 1024, cpus: 1 }, advertiseIp: w.advertiseIp } },
  ]);
}

/** The app and a deployment of it that succeeded on its worker. */
export function appEvents(a: FleetApp): StreamAppend[] {
  const spec = { name: a.name, source: { type: 'image' as const, image: 'busybox' }, port: 8080, ...(a.zone ? { zone: a.zone } : {}) };
  return [part(streamIds.app(a.id), 'app', [{ type: 'AppCreated', data: { appId: a.id, spec } }]), deploymentEvents(a.id, spec, a.workerId, a.hostPort)];
}

export function deploymentEvents(appId: string, spec: { name: string; source: { type: 'image'; image: string }; port: number }, workerId: string, hostPort: number): StreamAppend {
  const deploymentId = randomUUID();
  return part(streamIds.deployment(deploymentId), 'deployment', [
    { type: 'DeploymentRequested', data: { deploymentId, appId, app: spec, trigger: 'api' } },
    { type: 'JobSucceeded', data: { deploymentId, jobId: randomUUID(), workerId, containerId: `c-${deploymentId}`, hostPort } },
  ]);
}

export function domainEvents(appId: string, d: { id: string; hostname: string; verified: boolean }): StreamAppend {
  const events: BerthEvent[] = [{ type: 'DomainAdded', data: { domainId: d.id, appId, hostname: d.hostname, token: `token-${d.id}` } }];
  if (d.verified) events.push({ type: 'DomainVerified', data: { domainId: d.id, appId, hostname: d.hostname } });
  return part(streamIds.domain(d.id), 'domain', events);
}

/** Appends the whole fleet, `chunk` streams per transaction. */
export async function appendFleet(store: EventStore, workers: FleetWorker[], apps: FleetApp[], chunk = 500): Promise<void> {
  const parts = [...workers.map(workerEvents), ...apps.flatMap((a) => [...appEvents(a), ...(a.domains ?? []).map((d) => domainEvents(a.id, d))])];
  for (let i = 0; i < parts.length; i += chunk) await store.appendMany(parts.slice(i, i + chunk));
}
