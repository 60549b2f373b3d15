import type { Database } from "bun:sqlite";

/** The schema version schema.sql creates. Bump it together with a new entry in MIGRATIONS. */
export const SCHEMA_VERSION = 1;

/**
 * MIGRATIONS[v] upgrades a database from version v to v + 1, inside a transaction. Version 0 means "empty": it gets
 * schema.sql directly. Keep old steps forever: a user may skip releases.
 */
export const MIGRATIONS: Record<number, (db: Database) => void> = {};
