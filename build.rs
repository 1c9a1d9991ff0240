// `sqlx::migrate!` embeds the files under migrations/ when the crate compiles, but Cargo does not
// know it reads them: without this, a migration added or edited after the last build would be
// left out of the binary until something else changed.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
