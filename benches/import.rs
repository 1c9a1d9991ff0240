//! Employee import throughput on Postgres: `cargo bench --bench import`.
//!
//! Generates 100,000 employees as CSV and imports them into a fresh database three times:
//! all new, all unchanged, all renamed (every row updated). It goes through the same service
//! call as the HTTP route and the CLI (parse, validate, one transaction of batched
//! statements). Under `cargo test` (no `--bench` argument) it runs once with 1,000 rows, so
//! the test suite stays fast. `SESAME_BENCH_POSTGRES_URL` overrides the server
//! (default `postgres://postgres@127.0.0.1:5432/postgres`); `SESAME_BENCH_ROWS` the row count.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use sesame::admin::{Import, ImportFormat, ImportMode};
use sesame::config::{DatabaseUrl, SecretUrl};
use sesame::domain::Actor;
use sesame::store::Database;
use sqlx::Connection;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let benchmarking = std::env::args().any(|arg| arg == "--bench");
    let rows: usize = match std::env::var("SESAME_BENCH_ROWS") {
        Ok(rows) => rows.parse()?,
        Err(_) if benchmarking => 100_000,
        Err(_) => 1_000,
    };
    let server = std::env::var("SESAME_BENCH_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let name = format!("sesame_bench_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(&server).await?;
    sqlx::query(&format!("create database {name}"))
        .execute(&mut admin)
        .await?;
    let base = server
        .rsplit_once('/')
        .map_or(server.as_str(), |(base, _)| base);
    let url = DatabaseUrl::Postgres(SecretUrl::new(&format!("{base}/{name}")));
    let db = Database::open(&url, 8).await?;

    let result = run(&db, rows).await;
    db.close().await;
    sqlx::query(&format!("drop database {name} with (force)"))
        .execute(&mut admin)
        .await?;
    result
}

async fn run(db: &Database, rows: usize) -> anyhow::Result<()> {
    let config = sesame::Config::from_vars(&HashMap::new())?;
    let import = Import::new(db.clone(), Arc::new(config));
    for (label, suffix, expected) in [
        ("all new", "", "created"),
        ("unchanged", "", "unchanged"),
        ("all renamed", " Jr", "updated"),
    ] {
        let file = csv(rows, suffix);
        let started = Instant::now();
        let counts = import
            .run(
                &Actor::Cli,
                None,
                ImportFormat::Csv,
                file.clone().into_bytes(),
                ImportMode::Sync,
                sesame::Clock::system().now(),
            )
            .await?;
        let elapsed = started.elapsed();
        let counted = match expected {
            "created" => counts.created,
            "unchanged" => counts.unchanged,
            _ => counts.updated,
        };
        anyhow::ensure!(counted == rows as u64, "{label}: {counts:?}");
        println!(
            "import {rows} rows ({label}, {:.1} MiB CSV): {:.2} s ({:.0} rows/s)",
            file.len() as f64 / (1024.0 * 1024.0),
            elapsed.as_secs_f64(),
            rows as f64 / elapsed.as_secs_f64()
        );
    }
    Ok(())
}

/// `rows` employees with distinct valid UK numbers (`+44 7700 0xxxxx`… ranges).
fn csv(rows: usize, suffix: &str) -> String {
    let mut file = String::from("external_id,phone_number,name,email,active\n");
    for n in 0..rows {
        file.push_str(&format!(
            "HR-{n:07},+44 7{:09},Employee {n}{suffix},employee{n}@example.com,true\n",
            100_000_000 + n
        ));
    }
    file
}
