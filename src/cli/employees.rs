//! `sesame employees import FILE [--sync]`.

use std::path::PathBuf;

use std::sync::Arc;

use anyhow::Context;
use clap::Subcommand;

use crate::admin::{Import, ImportFormat, ImportMode};
use crate::domain::Actor;
use crate::{Config, Error};

#[derive(Subcommand)]
pub enum EmployeesCommand {
    /// Import employees from a CSV file (header external_id,phone_number,name,email,active)
    /// or a JSON array of the same objects; all or nothing.
    Import {
        file: PathBuf,
        /// Also disable active employees the file does not list (leavers).
        #[arg(long)]
        sync: bool,
    },
}

pub async fn run(config: &Config, command: EmployeesCommand, now: i64) -> anyhow::Result<()> {
    let EmployeesCommand::Import { file, sync } = command;
    let content =
        std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
    let format = ImportFormat::of_file(&file, &content);
    let mode = if sync {
        ImportMode::Sync
    } else {
        ImportMode::Merge
    };
    let db = super::connect(config).await?;
    let result = Import::new(db.clone(), Arc::new(config.clone()))
        .run(&Actor::Cli, None, format, content, mode, now)
        .await;
    db.close().await;
    match result {
        Ok(counts) => {
            println!(
                "created {}, updated {}, disabled {}, unchanged {}",
                counts.created, counts.updated, counts.disabled, counts.unchanged
            );
            Ok(())
        }
        Err(Error::InvalidRows(errors)) => {
            for error in &errors {
                eprintln!("{}:{}: {}", file.display(), error.line, error.error);
            }
            anyhow::bail!("{} bad row(s); nothing was imported", errors.len())
        }
        Err(other) => Err(super::cause(other)),
    }
}
