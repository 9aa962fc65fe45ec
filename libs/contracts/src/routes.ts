/**
 * A route a worker's local proxy (Caddy) serves: these hosts to 127.0.0.1:<upstreamPort>. The control
 * plane computes a worker's list from its routes read model and sends the whole list (message `routes`);
 * the agent makes its proxy match it.
 */
export interface WorkerRoute {
  /** Stable id: the app's. */
  id: string;
  /** Lowercase ASCII hostnames (zone subdomain and verified custom domains), sorted. */
  hosts: string[];
  upstreamPort: number;
}

/** Server -> agent: the complete set of routes this worker serves (replaces the previous one). */
export interface RoutesMessage {
  routes: WorkerRoute[];
}
