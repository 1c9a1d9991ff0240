//! Import: upload an HR export (CSV or JSON; a file or pasted text), see the bad rows, or a
//! preview of what would be created, updated and disabled, then apply it. The preview and
//! the import are `admin.import.preview` and `admin.import.run`, the JSON API's own checks.
//! The Apply form carries the file back in a hidden field: nothing is kept on the server
//! between the two steps, so any node can answer either.

use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;

use super::layout::{Area, PageError, csrf_field, page, respond};
use super::session::{ADMIN, Console, Posted, authorize};
use crate::admin::{ConsoleUser, ImportFormat, ImportMode};
use crate::api::Client;
use crate::app::AppState;
use crate::error::{Error, RowError};
use crate::store::{ImportCounts, ImportPlan};

/// External ids listed per kind of change in a preview; the counts say how many in all.
const LISTED: usize = 200;

pub async fn form_page(Console(user): Console) -> Markup {
    let body = if user.may_change() {
        upload_form(&user, ImportMode::Merge, "")
    } else {
        html! { p.muted { "This key is read-only (role auditor): it cannot import." } }
    };
    page("Import employees", Some(&user), Area::Import, body)
}

fn upload_form(user: &ConsoleUser, mode: ImportMode, text: &str) -> Markup {
    html! {
        p { "A CSV with the header " code { "external_id,phone_number,name,email,active" }
            " (any order; " code { "email" } " and " code { "active" } " optional), or a JSON array of the same objects. "
            "Nothing changes until you apply the preview." }
        form.stack method="post" action="/admin/import/preview" enctype="multipart/form-data" {
            (csrf_field(user))
            fieldset {
                legend { "Mode" }
                label.inline { input type="radio" name="mode" value="merge" checked[mode == ImportMode::Merge]; "Merge: create and update the listed employees" }
                label.inline { input type="radio" name="mode" value="sync" checked[mode == ImportMode::Sync]; "Sync: also disable active employees the file leaves out" }
            }
            label { "File" input type="file" name="file" accept=".csv,.json,text/csv,application/json"; }
            label { "Or paste its content" textarea name="text" rows="8" spellcheck="false" { (text) } }
            div { button type="submit" { "Preview" } }
        }
    }
}

/// What the upload form sent.
struct Upload {
    csrf: Option<String>,
    mode: Option<String>,
    file: Option<(String, Vec<u8>)>,
    text: String,
}

async fn read_upload(mut multipart: Multipart) -> Result<Upload, PageError> {
    let unreadable = |_| {
        PageError::Service(Error::InvalidRequest(
            "the upload could not be read (is the file over 32 MiB?)".into(),
        ))
    };
    let mut upload = Upload {
        csrf: None,
        mode: None,
        file: None,
        text: String::new(),
    };
    while let Some(field) = multipart.next_field().await.map_err(unreadable)? {
        let name = field.name().unwrap_or_default().to_owned();
        let file_name = field.file_name().unwrap_or_default().to_owned();
        let bytes = field.bytes().await.map_err(unreadable)?;
        let text = || String::from_utf8_lossy(&bytes).into_owned();
        match name.as_str() {
            "csrf" => upload.csrf = Some(text()),
            "mode" => upload.mode = Some(text()),
            "text" => upload.text = text(),
            "file" if !bytes.is_empty() => upload.file = Some((file_name, bytes.to_vec())),
            _ => {}
        }
    }
    Ok(upload)
}

fn mode_of(mode: Option<&str>) -> Result<ImportMode, PageError> {
    match mode {
        None | Some("merge") => Ok(ImportMode::Merge),
        Some("sync") => Ok(ImportMode::Sync),
        Some(_) => Err(Error::InvalidRequest("mode must be merge or sync".into()).into()),
    }
}

pub async fn preview(
    State(state): State<AppState>,
    Console(user): Console,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, PageError> {
    let multipart = multipart.map_err(|_| {
        PageError::Service(Error::InvalidRequest(
            "the import form must be sent as multipart/form-data".into(),
        ))
    })?;
    let upload = read_upload(multipart).await?;
    authorize(&user, upload.csrf.as_deref(), ADMIN)?;
    let mode = mode_of(upload.mode.as_deref())?;
    let (name, body) = upload
        .file
        .unwrap_or_else(|| (String::new(), upload.text.into_bytes()));
    let format = ImportFormat::of_file(std::path::Path::new(&name), &body);
    let Ok(text) = String::from_utf8(body) else {
        return Err(Error::InvalidRequest("the file is not UTF-8 text".into()).into());
    };
    let previewed = state
        .admin
        .import
        .preview(format, text.clone().into_bytes(), mode, state.clock.now())
        .await;
    match previewed {
        Ok(plan) => Ok(respond(
            StatusCode::OK,
            preview_page(&user, &plan, mode, format, &text),
        )),
        Err(error) => refused(&user, error, mode, &text),
    }
}

/// The page of a refused file: the bad rows (or the reason) and the form, with the text to fix.
fn refused(
    user: &ConsoleUser,
    error: Error,
    mode: ImportMode,
    text: &str,
) -> Result<Response, PageError> {
    let status = error.status();
    let report = match error {
        Error::InvalidRows(rows) => row_report(&rows),
        Error::InvalidRequest(_) | Error::Conflict(_) => {
            html! { p.error role="alert" { (error.to_string()) } }
        }
        other => return Err(other.into()),
    };
    let body =
        html! { (report) h2 { "Fix the file and preview again" } (upload_form(user, mode, text)) };
    Ok(respond(
        status,
        page("Import employees", Some(user), Area::Import, body),
    ))
}

fn row_report(rows: &[RowError]) -> Markup {
    html! {
        div.error role="alert" {
            p { strong { (rows.len()) " row(s) are invalid" } ": nothing was imported." }
        }
        div.scroll { table {
            caption.muted { "Bad rows (line 1 is the header; for JSON, the element's position)" }
            thead { tr { th scope="col" { "Line" } th scope="col" { "Problem" } } }
            tbody { @for row in rows { tr { td { (row.line) } td { (row.error) } } } }
        } }
    }
}

fn id_list(title: &str, ids: &[String]) -> Markup {
    html! {
        @if !ids.is_empty() {
            h2 { (title) " (" (ids.len()) ")" }
            ul { @for id in ids.iter().take(LISTED) { li { (id) } } }
            @if ids.len() > LISTED { p.muted { "and " (ids.len() - LISTED) " more" } }
        }
    }
}

fn preview_page(
    user: &ConsoleUser,
    plan: &ImportPlan,
    mode: ImportMode,
    format: ImportFormat,
    text: &str,
) -> Markup {
    let body = html! {
        p.notice role="status" { "Every row is valid. Nothing has changed yet: this is what applying the file (" (mode.as_str()) ") would do." }
        (counts_table(&plan.counts))
        (id_list("Created", &plan.created))
        (id_list("Updated", &plan.updated))
        (id_list("Disabled", &plan.disabled))
        @if plan.counts.disabled > 0 {
            p.warning { "Disabling an employee ends every session opened for them at once." }
        }
        form.actions method="post" action="/admin/import/apply" {
            (csrf_field(user))
            input type="hidden" name="mode" value=(mode.as_str());
            input type="hidden" name="format" value=(if format == ImportFormat::Json { "json" } else { "csv" });
            input type="hidden" name="content" value=(text);
            button type="submit" { "Apply" }
            a.button.secondary href="/admin/import" { "Cancel" }
        }
    };
    page("Import preview", Some(user), Area::Import, body)
}

fn counts_table(counts: &ImportCounts) -> Markup {
    html! {
        table {
            thead { tr { th scope="col" { "Created" } th scope="col" { "Updated" } th scope="col" { "Disabled" } th scope="col" { "Unchanged" } } }
            tbody { tr { td { (counts.created) } td { (counts.updated) } td { (counts.disabled) } td { (counts.unchanged) } } }
        }
    }
}

#[derive(Deserialize)]
pub struct ApplyForm {
    mode: Option<String>,
    format: Option<String>,
    #[serde(default)]
    content: String,
}

pub async fn apply(
    State(state): State<AppState>,
    Client(client): Client,
    Posted { user, form }: Posted<ApplyForm, ADMIN>,
) -> Result<Response, PageError> {
    let mode = mode_of(form.mode.as_deref())?;
    let format = match form.format.as_deref() {
        Some("json") => ImportFormat::Json,
        Some("csv") | None => ImportFormat::Csv,
        Some(_) => return Err(Error::InvalidRequest("format must be csv or json".into()).into()),
    };
    let now = state.clock.now();
    let imported = state
        .admin
        .import
        .run(
            &user.actor,
            client.ip.as_deref(),
            format,
            form.content.clone().into_bytes(),
            mode,
            now,
        )
        .await;
    match imported {
        Ok(counts) => {
            let body = html! {
                p.notice role="status" { "Imported (" (mode.as_str()) ")." }
                (counts_table(&counts))
                p { (counts.sessions_revoked) " session(s) ended because their employee was disabled or lost their number." }
                p { a href="/admin/employees" { "Employees" } " · " a href="/admin/import" { "Import another file" } }
            };
            Ok(respond(
                StatusCode::OK,
                page("Import applied", Some(&user), Area::Import, body),
            ))
        }
        Err(error) => refused(&user, error, mode, &form.content),
    }
}
