//! `/admin/v1/*`: the JSON admin API (an API key of role `admin`). Each handler parses, calls
//! one method of an admin service (`crate::admin`), and renders its answer.

mod api_keys;
mod audit;
mod employees;
mod import;
mod numbers;
mod sessions;

use utoipa_axum::router::OpenApiRouter;

use crate::app::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(employees::routes())
        .merge(import::routes())
        .merge(sessions::routes())
        .merge(api_keys::routes())
        .merge(audit::routes())
        .merge(numbers::routes())
}
