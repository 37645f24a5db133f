//! The shared Store conformance suite on a real SQLite file in a temp dir.

use std::sync::Arc;

use confab_store_sqlite::{SqliteOptions, SqliteStore};
use confab_store_suite::Fixture;

async fn make() -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let store =
        SqliteStore::open(&SqliteOptions::new(dir.path().join("confab.db"))).expect("open store");
    Fixture {
        store: Arc::new(store),
        guard: Box::new(dir),
    }
}

confab_store_suite::conformance_tests!(make);
