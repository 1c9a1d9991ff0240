//! Bulk employee import (docs/contract-notes.md, "Bulk import"): parse a CSV or JSON file,
//! validate it as a whole, and only then apply it in one transaction.

use std::collections::HashSet;
use std::sync::Arc;

use serde_json::json;

use super::employees::{count_ended, session_events};
use super::import_file::{CheckedFile, check_file};
use super::{Call, FieldProblem, ValidEmployee};
use crate::config::Config;
use crate::domain::{Actor, AuditAction};
use crate::error::{Error, Result, RowError};
use crate::store::{
    Database, EmployeeUpsert, ImportBatch, ImportCounts, ImportOutcome, ImportPlan,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportFormat {
    Csv,
    Json,
}

impl ImportFormat {
    /// The format of a body with this media type (`text/csv` or `application/json`).
    pub fn from_media_type(media_type: &str) -> Option<Self> {
        match media_type {
            "text/csv" => Some(Self::Csv),
            "application/json" => Some(Self::Json),
            _ => None,
        }
    }

    /// The format of a file: by its extension, else JSON when it starts with `[`.
    pub fn of_file(path: &std::path::Path, content: &[u8]) -> Self {
        match path.extension().and_then(|ext| ext.to_str()) {
            Some(ext) if ext.eq_ignore_ascii_case("json") => Self::Json,
            Some(ext) if ext.eq_ignore_ascii_case("csv") => Self::Csv,
            _ if content.trim_ascii_start().starts_with(b"[") => Self::Json,
            _ => Self::Csv,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportMode {
    /// Create and update the listed employees; leave the others alone.
    Merge,
    /// Also disable active employees the file does not list (leavers).
    Sync,
}

impl ImportMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Merge => "merge",
            Self::Sync => "sync",
        }
    }
}

/// The bulk import of employees: all or nothing, audited.
#[derive(Clone)]
pub struct Import {
    db: Database,
    config: Arc<Config>,
}

impl Import {
    pub fn new(db: Database, config: Arc<Config>) -> Self {
        Self { db, config }
    }

    /// Imports `body`: `Error::InvalidRows` (nothing applied, `employees.import_rejected`
    /// audited) when any row is bad; otherwise the counts, with the changes, the sessions they
    /// end and their audit events (`session.revoked`, one `employee.disabled` per employee
    /// disabled, `employees.imported`) in one transaction.
    pub async fn run(
        &self,
        actor: &Actor,
        ip: Option<&str>,
        format: ImportFormat,
        body: Vec<u8>,
        mode: ImportMode,
        now: i64,
    ) -> Result<ImportCounts> {
        let checked = self.check(format, body, mode).await?;
        let rows = checked.rows();
        let listed = checked.listed();
        let batch = checked.batch(&rows, &listed, mode, checked.errors.is_empty());
        let call = Call::new(actor, ip, now);
        let mut tx = self.db.begin().await?;
        let collisions = match tx.import_employees(&batch, now).await? {
            ImportOutcome::Applied(applied) => {
                let counts = applied.counts;
                let reason = json!({ "reason": match mode {
                    ImportMode::Merge => "import",
                    ImportMode::Sync => "import_sync",
                } });
                let mut events = session_events(call, &applied.ended);
                events.extend(applied.disabled.iter().map(|external_id| {
                    let subject = Some(external_id.as_str());
                    call.event(AuditAction::EmployeeDisabled, subject, Some(reason.clone()))
                }));
                let summary = json!({
                    "mode": mode.as_str(),
                    "rows": rows.len(),
                    "created": counts.created,
                    "updated": counts.updated,
                    "disabled": counts.disabled,
                    "unchanged": counts.unchanged,
                    "sessions_revoked": counts.sessions_revoked,
                });
                events.push(call.event(AuditAction::EmployeesImported, None, Some(summary)));
                tx.append_audit(&events).await?;
                tx.commit().await?;
                count_ended(&applied.ended);
                return Ok(counts);
            }
            ImportOutcome::Collisions(collisions) => collisions,
            ImportOutcome::Planned(_) => Vec::new(),
        };
        let errors = checked.report(collisions);
        let detail = json!({
            "mode": mode.as_str(),
            "rows": checked.row_count,
            "bad_rows": errors.len(),
        });
        // Nothing else was written in this transaction: it commits the event alone.
        let rejected = call.event(AuditAction::EmployeesImportRejected, None, Some(detail));
        tx.append_audit(&[rejected]).await?;
        tx.commit().await?;
        Err(Error::InvalidRows(errors))
    }

    /// What importing `body` would change now, checked exactly as [`Import::run`] checks it
    /// (the same `Error::InvalidRows` report for bad rows), changing and auditing nothing: a
    /// preview is a read. The data may change before the import runs; `run` checks again.
    pub async fn preview(
        &self,
        format: ImportFormat,
        body: Vec<u8>,
        mode: ImportMode,
        now: i64,
    ) -> Result<ImportPlan> {
        let checked = self.check(format, body, mode).await?;
        let rows = checked.rows();
        let listed = checked.listed();
        let batch = checked.batch(&rows, &listed, mode, false);
        // A transaction for one consistent read; dropped, it rolls back (nothing was written).
        let mut tx = self.db.begin().await?;
        let outcome = tx.import_employees(&batch, now).await?;
        drop(tx);
        match outcome {
            ImportOutcome::Planned(plan) if checked.errors.is_empty() => Ok(plan),
            ImportOutcome::Planned(_) => Err(Error::InvalidRows(checked.report(Vec::new()))),
            ImportOutcome::Collisions(collisions) => {
                Err(Error::InvalidRows(checked.report(collisions)))
            }
            ImportOutcome::Applied(_) => Err(Error::Internal(anyhow::anyhow!(
                "an import preview applied its rows"
            ))),
        }
    }

    /// Reads and checks the file on its own (off the async workers: 100,000 numbers take CPU
    /// seconds), test numbers included.
    async fn check(
        &self,
        format: ImportFormat,
        body: Vec<u8>,
        mode: ImportMode,
    ) -> Result<Checked> {
        let checked = tokio::task::spawn_blocking(move || check_file(format, &body))
            .await
            .map_err(|err| Error::Internal(err.into()))??;
        if checked.rows == 0 && mode == ImportMode::Sync {
            return Err(Error::InvalidRequest(
                "the file lists no employees: a sync would disable every employee".into(),
            ));
        }
        let CheckedFile {
            rows: row_count,
            listed,
            valid,
            mut errors,
        } = checked;
        let (valid, test_numbers): (Vec<_>, Vec<_>) =
            valid.into_iter().partition(|(_, employee)| {
                employee
                    .check_not_a_test_number(&self.config.test_numbers)
                    .is_ok()
            });
        errors.extend(test_numbers.into_iter().map(|(line, _)| RowError {
            line,
            error: FieldProblem::TestNumber.message(),
        }));
        Ok(Checked {
            row_count,
            listed,
            valid,
            errors,
        })
    }
}

/// A file checked on its own: its valid rows (with their lines) and its bad rows.
struct Checked {
    row_count: usize,
    listed: HashSet<String>,
    valid: Vec<(u64, ValidEmployee)>,
    errors: Vec<RowError>,
}

impl Checked {
    fn rows(&self) -> Vec<EmployeeUpsert<'_>> {
        self.valid
            .iter()
            .map(|(_, employee)| employee.as_upsert())
            .collect()
    }

    fn listed(&self) -> HashSet<&str> {
        self.listed.iter().map(String::as_str).collect()
    }

    fn batch<'a>(
        &self,
        rows: &'a [EmployeeUpsert<'a>],
        listed: &'a HashSet<&'a str>,
        mode: ImportMode,
        apply: bool,
    ) -> ImportBatch<'a> {
        ImportBatch {
            rows,
            listed,
            sync: mode == ImportMode::Sync,
            apply,
        }
    }

    /// Every bad row, ordered by line: the file's own, and rows (by index among the valid
    /// ones) whose number an active employee outside the file holds.
    fn report(&self, collisions: Vec<(usize, String)>) -> Vec<RowError> {
        let mut errors = self.errors.clone();
        for (index, holder) in collisions {
            errors.push(RowError {
                line: self.valid[index].0,
                error: format!(
                    "phone_number belongs to active employee {holder}, who is not in the file"
                ),
            });
        }
        errors.sort_by_key(|error| error.line);
        errors
    }
}
