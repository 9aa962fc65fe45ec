/** The pg Pool under TypeORM's DataSource, shared by the event store and read-model queries. */
export const PG_POOL = Symbol('PgPool');
