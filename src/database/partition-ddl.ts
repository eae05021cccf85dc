import type { Tx } from './db';

/**
 * Serialises every change to the partitions of `vectors` (collection create, delete, tenant purge).
 * Creating a partition locks `vectors` and `collections` in an order that deadlocks against another
 * transaction doing the same for a different tenant; one transaction-level advisory lock, taken
 * before the transaction touches either table, makes them queue instead. Collection DDL is rare.
 */
export async function lockPartitionDdl(tx: Tx): Promise<void> {
  await tx.query(`SELECT pg_advisory_xact_lock(hashtext('quiver:partition-ddl'))`);
}
