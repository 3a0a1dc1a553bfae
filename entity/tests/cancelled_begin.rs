//! A transaction whose `BEGIN` is cancelled half-way (a dropped job future, an HTTP client that
//! hangs up) must not leave its pooled PostgreSQL connection inside a transaction block.
//!
//! sqlx 0.9.0 raised its transaction depth only after `BEGIN`'s round trip, so a future dropped
//! during it queued no `ROLLBACK`; the pool handed the connection on, and every later statement
//! on it ran inside that never-committed transaction, holding its row locks for good (the chaos
//! test's surviving worker stalled allocation this way). sqlx 0.9.1 fixed it upstream
//! (transact-rs/sqlx#4394); this test pins the behaviour the lock file relies on.
//!
//! Runs when `IMPRINT_TEST_DATABASE_URL` names a PostgreSQL server.

use std::future::Future;
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use sea_orm::{ConnectOptions, ConnectionTrait, Database, DbBackend, Statement, TransactionTrait};

/// Cancelled BEGINs tried: the window is a round trip wide, so most land elsewhere.
const ROUNDS: usize = 2000;

/// Polls `fut` at most `polls` times, yielding to the runtime in between, then drops it.
/// Returns whether it completed.
async fn poll_then_drop<F: Future>(fut: F, polls: usize) -> bool {
    let mut fut = pin!(fut);
    for _ in 0..polls {
        let step = std::future::poll_fn(|cx| Poll::Ready(fut.as_mut().poll(cx))).await;
        if step.is_ready() {
            return true;
        }
        tokio::task::yield_now().await;
    }
    false
}

#[tokio::test]
async fn a_cancelled_begin_leaves_no_transaction_open_on_the_pooled_connection() {
    let Ok(url) = std::env::var("IMPRINT_TEST_DATABASE_URL") else {
        eprintln!("IMPRINT_TEST_DATABASE_URL is not set: PostgreSQL not tested");
        return;
    };
    // One connection, so the next statement runs on the one the cancelled BEGIN used.
    let mut options = ConnectOptions::new(url);
    options.max_connections(1).sqlx_logging(false);
    let db = Database::connect(options).await.expect("connect");

    let mut cancelled = 0;
    let mut leaked = Vec::new();
    for round in 0..ROUNDS {
        // A few polls in: the BEGIN is written, its answer not yet read.
        let polls = 1 + round % 3;
        if !poll_then_drop(db.begin(), polls).await {
            cancelled += 1;
        }
        // The pool returns the connection from a task of its own.
        tokio::time::sleep(Duration::from_millis(1)).await;
        // Two statements share a transaction id only inside one transaction block.
        let txid = || async {
            let row = db
                .query_one_raw(Statement::from_string(
                    DbBackend::Postgres,
                    "SELECT txid_current() AS id",
                ))
                .await
                .expect("query")
                .expect("a row");
            row.try_get::<i64>("", "id").expect("id")
        };
        let in_block = txid().await == txid().await;
        if in_block {
            leaked.push(round);
            // Heal the connection so the next round measures afresh.
            db.execute_unprepared("ROLLBACK").await.expect("rollback");
        }
    }
    eprintln!(
        "{cancelled} of {ROUNDS} BEGINs cancelled mid-way, {} left a transaction open",
        leaked.len()
    );
    assert!(
        cancelled >= ROUNDS / 10,
        "only {cancelled} of {ROUNDS} BEGINs were cancelled mid-way: the test did not exercise the window"
    );
    assert!(
        leaked.is_empty(),
        "{} of {cancelled} cancelled BEGINs left the connection in a transaction (rounds {:?}…)",
        leaked.len(),
        &leaked[..leaked.len().min(10)]
    );
}
