//! Reading an import file (CSV or a JSON array) and checking it on its own: every row's
//! fields, duplicate ids and shared numbers within the file. What needs the database (numbers
//! held by employees outside the file) is checked by the store.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::ImportFormat;
use super::valid_employee::{FieldProblem, ValidEmployee};
use crate::error::{Error, Result, RowError};

const COLUMNS: [&str; 5] = ["external_id", "phone_number", "name", "email", "active"];
const REQUIRED: [&str; 3] = ["external_id", "phone_number", "name"];

/// One row as read, before validation.
#[derive(Debug, Default)]
struct RawRow {
    line: u64,
    external_id: String,
    phone_number: String,
    name: String,
    email: Option<String>,
    active: bool,
    /// What was wrong with the row's shape (field count, types, the `active` value).
    problems: Vec<String>,
}

/// A file read and validated on its own, before the database is asked.
pub(super) struct CheckedFile {
    pub rows: usize,
    /// Every `external_id` the file names, bad rows included.
    pub listed: HashSet<String>,
    pub valid: Vec<(u64, ValidEmployee)>,
    pub errors: Vec<RowError>,
}

pub(super) fn check_file(format: ImportFormat, body: &[u8]) -> Result<CheckedFile> {
    let raw = match format {
        ImportFormat::Csv => read_csv(body)?,
        ImportFormat::Json => read_json(body)?,
    };
    let (valid, errors) = validate(&raw);
    let listed = raw
        .iter()
        .map(|row| row.external_id.trim())
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
        .collect();
    Ok(CheckedFile {
        rows: raw.len(),
        listed,
        valid,
        errors,
    })
}

/// Every row on its own (in parallel), then the rows among themselves: one `external_id` per
/// row, one active employee per number. Returns the valid rows with their lines, and an error
/// per bad row (all of its problems in one message).
fn validate(raw: &[RawRow]) -> (Vec<(u64, ValidEmployee)>, Vec<RowError>) {
    let parsed = parse_rows(raw);
    let mut valid = Vec::with_capacity(raw.len());
    let mut errors = Vec::new();
    let mut ids: HashMap<&str, u64> = HashMap::with_capacity(raw.len());
    let mut numbers: HashMap<String, u64> = HashMap::with_capacity(raw.len());
    for (row, parsed) in raw.iter().zip(parsed) {
        let mut problems = row.problems.clone();
        let external_id = row.external_id.trim();
        if let Some(first) = ids.get(external_id).filter(|_| !external_id.is_empty()) {
            problems.push(format!("external_id {external_id} is also on line {first}"));
        } else {
            ids.insert(external_id, row.line);
        }
        match &parsed {
            Err(field_problems) => problems.extend(field_problems.iter().map(|p| p.message())),
            Ok(employee) if employee.active => match numbers.get(&employee.phone_number) {
                Some(first) => problems.push(format!(
                    "phone_number is also on line {first}: two active employees cannot share a number"
                )),
                None => {
                    numbers.insert(employee.phone_number.clone(), row.line);
                }
            },
            Ok(_) => {}
        }
        match parsed {
            Ok(employee) if problems.is_empty() => valid.push((row.line, employee)),
            _ => errors.push(RowError {
                line: row.line,
                error: problems.join("; "),
            }),
        }
    }
    (valid, errors)
}

/// The field checks of every row, spread over the CPUs (phone number parsing dominates).
fn parse_rows(raw: &[RawRow]) -> Vec<Result<ValidEmployee, Vec<FieldProblem>>> {
    let parse = |row: &RawRow| {
        ValidEmployee::parse(
            &row.external_id,
            &row.phone_number,
            &row.name,
            row.email.as_deref(),
            row.active,
        )
    };
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let chunk = raw.len().div_ceil(threads).max(2_000);
    std::thread::scope(|scope| {
        let workers: Vec<_> = raw
            .chunks(chunk)
            .map(|rows| scope.spawn(move || rows.iter().map(parse).collect::<Vec<_>>()))
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| {
                worker
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

/// `true`/`false` (also `1`/`0`, `yes`/`no`, any case); empty means active.
fn parse_active(value: &str) -> Result<bool, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "" | "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(format!("active must be true or false, not {value:?}")),
    }
}

/// A CSV file with a header line naming its columns (`email` and `active` may be left out).
fn read_csv(body: &[u8]) -> Result<Vec<RawRow>> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(true)
        .from_reader(body);
    let header_error = |error: String| Error::InvalidRows(vec![RowError { line: 1, error }]);
    let header = reader
        .byte_headers()
        .map_err(|err| header_error(format!("unreadable header: {err}")))?
        .clone();
    let header: Vec<String> = header
        .iter()
        .map(|name| String::from_utf8_lossy(name).trim().to_ascii_lowercase())
        .collect();
    let mut problems = Vec::new();
    for (index, name) in header.iter().enumerate() {
        if !COLUMNS.contains(&name.as_str()) {
            problems.push(format!("unknown column {name:?}"));
        } else if header[..index].contains(name) {
            problems.push(format!("column {name} appears twice"));
        }
    }
    for required in REQUIRED {
        if !header.iter().any(|name| name == required) {
            problems.push(format!("missing column {required}"));
        }
    }
    if !problems.is_empty() {
        problems.push(format!("the header must be {}", COLUMNS.join(",")));
        return Err(header_error(problems.join("; ")));
    }
    let mut rows = Vec::new();
    for record in reader.byte_records() {
        let record = record.map_err(|err| header_error(format!("unreadable CSV: {err}")))?;
        let mut row = RawRow {
            line: record.position().map_or(0, |position| position.line()),
            active: true,
            ..RawRow::default()
        };
        if record.len() != header.len() {
            row.problems.push(format!(
                "expected {} fields, found {}",
                header.len(),
                record.len()
            ));
        }
        for (name, field) in header.iter().zip(record.iter()) {
            let Ok(value) = std::str::from_utf8(field) else {
                row.problems.push(format!("{name} is not valid UTF-8"));
                continue;
            };
            match name.as_str() {
                "external_id" => row.external_id = value.to_owned(),
                "phone_number" => row.phone_number = value.to_owned(),
                "name" => row.name = value.to_owned(),
                "email" => row.email = Some(value.to_owned()),
                _ => match parse_active(value) {
                    Ok(active) => row.active = active,
                    Err(problem) => row.problems.push(problem),
                },
            }
        }
        rows.push(row);
    }
    Ok(rows)
}

/// A JSON array of objects with the CSV's fields; `line` is the object's position (from 1).
fn read_json(body: &[u8]) -> Result<Vec<RawRow>> {
    let items: Vec<Value> = serde_json::from_slice(body).map_err(|err| {
        Error::InvalidRequest(format!("the body must be a JSON array of employees: {err}"))
    })?;
    Ok(items
        .iter()
        .enumerate()
        .map(|(index, item)| json_row(index as u64 + 1, item))
        .collect())
}

fn json_row(line: u64, item: &Value) -> RawRow {
    let mut row = RawRow {
        line,
        active: true,
        ..RawRow::default()
    };
    let Some(object) = item.as_object() else {
        row.problems.push("not a JSON object".into());
        return row;
    };
    for (name, value) in object {
        let text = match value {
            Value::String(text) => Some(text.as_str()),
            Value::Null => None,
            Value::Bool(active) if name == "active" => {
                row.active = *active;
                continue;
            }
            _ => {
                row.problems.push(format!("{name} must be a string"));
                continue;
            }
        };
        match (name.as_str(), text) {
            ("external_id", Some(text)) => row.external_id = text.to_owned(),
            ("phone_number", Some(text)) => row.phone_number = text.to_owned(),
            ("name", Some(text)) => row.name = text.to_owned(),
            ("email", text) => row.email = text.map(str::to_owned),
            ("active", Some(text)) => match parse_active(text) {
                Ok(active) => row.active = active,
                Err(problem) => row.problems.push(problem),
            },
            ("active", None) | ("external_id" | "phone_number" | "name", None) => {}
            (other, _) => row.problems.push(format!("unknown field {other:?}")),
        }
    }
    row
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_keep_their_line_numbers_and_every_problem() {
        let body = b"external_id,phone_number,name,email,active\n\
            E-1,+44 7700 900001,Ada,,true\n\
            E-2,12,,a@example.com,maybe\n\
            E-1,+447700900003,Bob,,\n\
            E-4,+447700900001,Cy,,yes\n\
            E-5,+447700900001,Di,,false\n";
        let raw = read_csv(body).unwrap();
        assert_eq!(
            raw.iter().map(|r| r.line).collect::<Vec<_>>(),
            [2, 3, 4, 5, 6]
        );
        let (valid, errors) = validate(&raw);
        assert_eq!(
            valid.iter().map(|(line, _)| *line).collect::<Vec<_>>(),
            [2, 6]
        );
        assert_eq!(valid[0].1.phone_number, "+447700900001");
        assert_eq!(errors.iter().map(|e| e.line).collect::<Vec<_>>(), [3, 4, 5]);
        assert!(errors[0].error.contains("active"), "{:?}", errors[0]);
        assert!(errors[0].error.contains("name"), "{:?}", errors[0]);
        assert!(errors[0].error.contains("phone_number"), "{:?}", errors[0]);
        assert!(errors[1].error.contains("line 2"), "{:?}", errors[1]);
        assert!(errors[2].error.contains("line 2"), "{:?}", errors[2]);
    }

    #[test]
    fn a_bad_header_is_line_one() {
        let Err(Error::InvalidRows(errors)) = read_csv(b"id,number\nE-1,+447700900001\n") else {
            panic!("a bad header must be refused");
        };
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].line, 1);
    }

    #[test]
    fn json_rows_are_checked_for_types_and_unknown_fields() {
        let body =
            br#"[{"external_id":"E-1","phone_number":"+447700900001","name":"Ada","active":false},
                        {"external_id":7,"phone_number":"+447700900002","name":"Bob","team":"x"},
                        "nope"]"#;
        let raw = read_json(body).unwrap();
        assert!(!raw[0].active && raw[0].problems.is_empty());
        assert_eq!(raw[1].problems.len(), 2, "{:?}", raw[1].problems);
        assert_eq!(raw[2].line, 3);
        assert!(matches!(
            read_json(b"{\"a\":1}"),
            Err(Error::InvalidRequest(_))
        ));
    }
}
