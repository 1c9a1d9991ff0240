//! Bulk employee import (API.md, `POST /admin/v1/employees/import`): parse a CSV or JSON file,
//! validate it as a whole, and only then apply it in one transaction.

use std::collections::{HashMap, HashSet};

use super::FieldProblem;
use super::import_file::{CheckedFile, check_file};
use crate::error::{Error, Result, RowError};
use crate::store::{AuditEvent, Database, ImportBatch, ImportCounts, ImportOutcome};

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

/// Who imports, for the audit log, under which test numbers (no active employee may have one).
pub struct Importer<'a> {
    pub actor: &'a str,
    pub ip: Option<&'a str>,
    pub test_numbers: &'a HashMap<String, String>,
}

/// Imports `body`: `Error::InvalidRows` (nothing applied) when any row is bad, the counts
/// otherwise.
pub async fn import_employees(
    db: &Database,
    format: ImportFormat,
    body: Vec<u8>,
    mode: ImportMode,
    importer: &Importer<'_>,
    now: i64,
) -> Result<ImportCounts> {
    // Parsing and checking 100,000 numbers takes CPU seconds: not on the async workers.
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
    let (valid, test_numbers): (Vec<_>, Vec<_>) = valid.into_iter().partition(|(_, employee)| {
        employee
            .check_not_a_test_number(importer.test_numbers)
            .is_ok()
    });
    errors.extend(test_numbers.into_iter().map(|(line, _)| RowError {
        line,
        error: FieldProblem::TestNumber.message(),
    }));
    let listed: HashSet<&str> = listed.iter().map(String::as_str).collect();
    let rows: Vec<_> = valid
        .iter()
        .map(|(_, employee)| employee.as_upsert())
        .collect();
    let batch = ImportBatch {
        rows: &rows,
        listed: &listed,
        sync: mode == ImportMode::Sync,
        apply: errors.is_empty(),
        actor: importer.actor,
        ip: importer.ip,
    };
    match db.import_employees(&batch, now).await? {
        ImportOutcome::Applied(counts) => Ok(counts),
        ImportOutcome::Collisions(collisions) => {
            for (index, holder) in collisions {
                errors.push(RowError {
                    line: valid[index].0,
                    error: format!(
                        "phone_number belongs to active employee {holder}, who is not in the file"
                    ),
                });
            }
            errors.sort_by_key(|error| error.line);
            let detail = serde_json::json!({
                "mode": mode.as_str(),
                "rows": row_count,
                "bad_rows": errors.len(),
            });
            db.append_audit(&AuditEvent {
                at: now,
                actor: importer.actor,
                action: "employees.import_rejected",
                subject: None,
                ip: importer.ip,
                detail: Some(detail.to_string()),
            })
            .await?;
            Err(Error::InvalidRows(errors))
        }
    }
}
