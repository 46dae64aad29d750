import { PostgresDialect, sql, type DatabaseIntrospector, type DatabaseMetadata, type Kysely, type PostgresDialectConfig, type SchemaMetadata, type TableMetadata } from 'kysely';

/**
 * Kysely's PostgreSQL introspector reads the columns of every table in every schema of the
 * database (the migrator asks it whether its own two tables exist). On a server that shares its
 * database with other schemas — other Agentry deployments, other applications, test runs — that
 * query fails with "schema … does not exist" whenever one of them is dropped while it runs, and
 * grows with everything else in the database. This introspector looks at Agentry's schema only.
 */
class SchemaScopedIntrospector implements DatabaseIntrospector {
  constructor(
    private readonly db: Kysely<unknown>,
    private readonly schema: string,
  ) {}

  async getSchemas(): Promise<SchemaMetadata[]> {
    return [{ name: this.schema }];
  }

  async getTables(): Promise<TableMetadata[]> {
    const { rows } = await sql<{ table_name: string; table_type: string }>`
      SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = ${this.schema} ORDER BY table_name`.execute(this.db);
    return rows.map((r) => ({ name: r.table_name, schema: this.schema, isView: r.table_type === 'VIEW', columns: [] }));
  }

  async getMetadata(): Promise<DatabaseMetadata> {
    return { tables: await this.getTables() };
  }
}

/** The PostgreSQL dialect, with introspection (and so the migrator) kept to one schema. */
export class SchemaScopedPostgresDialect extends PostgresDialect {
  constructor(
    config: PostgresDialectConfig,
    private readonly schema: string,
  ) {
    super(config);
  }

  override createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new SchemaScopedIntrospector(db, this.schema);
  }
}
