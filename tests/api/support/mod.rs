//! Everything the end-to-end tests share: the app under test and its clients, fake SMS
//! providers, the `sesame` binary, tokens, codes and limits. Test files import from here only,
//! never from each other.

mod admin;
mod app;
mod audit_log;
mod client;
mod codes;
mod console;
mod dependency_servers;
mod downstream;
mod events;
mod fake_provider;
mod limits;
mod process;
mod proxy;
mod sink;
mod tokens;

pub use admin::*;
pub use app::*;
pub use audit_log::*;
pub use client::*;
pub use codes::*;
pub use console::*;
pub use dependency_servers::*;
pub use downstream::*;
pub use events::*;
pub use fake_provider::*;
pub use limits::*;
pub use process::*;
pub use proxy::*;
pub use sink::*;
pub use tokens::*;

/// Runs each named `async fn(Backend)` as two tests, one per backend.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::support::Backend::Embedded).await
                }
            )*
        }
        mod production {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::support::Backend::Production).await
                }
            )*
        }
    };
}

pub(crate) use on_both_backends;

/// Runs each named `async fn(Backend)` on both backends and on Postgres + a Redis Cluster.
macro_rules! on_every_backend {
    ($($name:ident),* $(,)?) => {
        $crate::support::on_both_backends!($($name),*);
        mod cluster {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::support::Backend::Cluster).await
                }
            )*
        }
    };
}

pub(crate) use on_every_backend;
