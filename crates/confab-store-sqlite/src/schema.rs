//! Migrations, kept in `migrations/` and applied in order; `PRAGMA user_version` records the
//! last one applied, inside the same transaction as the migration itself.

use rusqlite::Connection;

const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_init.sql"),
    include_str!("../migrations/0002_roles_users.sql"),
    include_str!("../migrations/0003_log_retention.sql"),
    include_str!("../migrations/0004_activity.sql"),
];

/// Brings the schema up to date.
pub(crate) fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let current: usize = conn
        .query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))?
        .try_into()
        .unwrap_or(0);
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(
            None,
            "user_version",
            i64::try_from(i + 1).unwrap_or(i64::MAX),
        )?;
        tx.commit()?;
    }
    Ok(())
}
