//! The shared Store conformance suite on the machine's PostgreSQL, each test in a schema of its
//! own (dropped afterwards). The server's address comes from `CONFAB_TEST_POSTGRES_URL`
//! (`.ci/run` sets it); without it the tests say so and do nothing, unless
//! `CONFAB_REQUIRE_POSTGRES=1` makes that a failure (as in CI).

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use confab_store_postgres::{PgOptions, PgStore};
use confab_store_suite::Fixture;

static NEXT: AtomicU32 = AtomicU32::new(0);

/// Drops the test's schema when the test ends.
struct Schema {
    url: String,
    name: String,
}

impl Drop for Schema {
    fn drop(&mut self) {
        confab_store_postgres::drop_schema_blocking(&self.url, &self.name);
    }
}

async fn make() -> Option<Fixture> {
    let Ok(url) = std::env::var("CONFAB_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var("CONFAB_REQUIRE_POSTGRES").as_deref() != Ok("1"),
            "CONFAB_TEST_POSTGRES_URL is not set but CONFAB_REQUIRE_POSTGRES=1"
        );
        eprintln!(
            "skipped: set CONFAB_TEST_POSTGRES_URL (e.g. postgres://postgres@127.0.0.1:5432/test) to run the PostgreSQL suite"
        );
        return None;
    };
    let name = format!(
        "confab_t{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let mut opts = PgOptions::new(url.clone());
    opts.schema = Some(name.clone());
    opts.max_connections = 8;
    let store = PgStore::connect(&opts)
        .await
        .expect("connect to PostgreSQL");
    Some(Fixture {
        store: Arc::new(store),
        guard: Box::new(Schema { url, name }),
    })
}

confab_store_suite::conformance_tests!(make);
