import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Read models of routing (which host goes to which worker address and port; the Traefik endpoints and
 * the agents' Caddy routes render from these alone) and of custom domains (the API's list).
 */
export class CreateRoutingAndDomains1700000000100 implements MigrationInterface {
  name = 'CreateRoutingAndDomains1700000000100';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE routing_apps (
        app_id    uuid    PRIMARY KEY,
        name      text    NOT NULL,
        zone      text,
        worker_id uuid,
        host_port integer
      )`);
    await q.query(`CREATE INDEX routing_apps_worker ON routing_apps (worker_id)`);
    await q.query(`
      CREATE TABLE routing_deployments (
        deployment_id uuid PRIMARY KEY,
        app_id        uuid NOT NULL
      )`);
    await q.query(`CREATE INDEX routing_deployments_app ON routing_deployments (app_id)`);
    await q.query(`
      CREATE TABLE routing_workers (
        worker_id    uuid PRIMARY KEY,
        advertise_ip text
      )`);
    await q.query(`
      CREATE TABLE routing_domains (
        domain_id uuid    PRIMARY KEY,
        app_id    uuid    NOT NULL,
        hostname  text    NOT NULL,
        verified  boolean NOT NULL
      )`);
    await q.query(`CREATE INDEX routing_domains_verified_app ON routing_domains (app_id) WHERE verified`);
    await q.query(`
      CREATE TABLE domains (
        id          uuid        PRIMARY KEY,
        app_id      uuid        NOT NULL,
        hostname    text        NOT NULL,
        token       text        NOT NULL,
        status      text        NOT NULL,
        reason      text,
        verified_at timestamptz,
        created_at  timestamptz NOT NULL,
        updated_at  timestamptz NOT NULL
      )`);
    await q.query(`CREATE INDEX domains_app ON domains (app_id, created_at)`);
    await q.query(`CREATE INDEX domains_status ON domains (status)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE domains`);
    await q.query(`DROP TABLE routing_domains`);
    await q.query(`DROP TABLE routing_workers`);
    await q.query(`DROP TABLE routing_deployments`);
    await q.query(`DROP TABLE routing_apps`);
  }
}
