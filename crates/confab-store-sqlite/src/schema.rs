//! Migrations, kept in `migrations/` and applied in order; `PRAGMA user_version` records the
//! last one applied, inside the same transaction as the migration itself.

use rusqlite::Connection;

const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_init.sql"),
    include_str!("../migrations/0002_roles_users.sql"),
    include_str!("../migrations/0003_log_retention.sql"),
    include_str!("../migrations/0004_activity.sql"),
    include_str!("../migrations/0005_append_order.sql"),
    include_str!("../migrations/0006_media.sql"),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_keeps_its_events_when_it_becomes_appended_rows() {
        let mut conn = Connection::open_in_memory().unwrap();
        for sql in &MIGRATIONS[..4] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 4).unwrap();
        conn.execute_batch(
            "INSERT INTO services VALUES (1, 'IS1', 's', 0, 0);
             INSERT INTO conversations (id, sid, service_id, attributes, state, last_seq, date_created, date_updated)
                 VALUES (1, 'CH1', 1, '{}', 'active', 2, 0, 0), (2, 'CH2', 1, '{}', 'active', 1, 0, 0);
             INSERT INTO conversation_events VALUES (1, 2, 7, x'7b32', 20), (2, 1, NULL, x'7b33', 15), (1, 1, NULL, x'7b31', 10);",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        type Row = (i64, i64, Option<i64>, Vec<u8>, i64);
        let rows: Vec<Row> = conn
            .prepare("SELECT conversation_id, seq, message_id, frame, date_created FROM conversation_events ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            rows,
            [
                (1, 1, None, b"{1".to_vec(), 10),
                (2, 1, None, b"{3".to_vec(), 15),
                (1, 2, Some(7), b"{2".to_vec(), 20),
            ],
            "every event kept, appended in time order"
        );
        let again = conn.execute(
            "INSERT INTO conversation_events (conversation_id, seq, frame, date_created) VALUES (1, 2, x'00', 30)",
            [],
        );
        assert!(again.is_err(), "(conversation, seq) stays unique");
    }
}
