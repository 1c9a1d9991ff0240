//! `sesame api-key create|revoke|list`.

use clap::{Subcommand, ValueEnum};
use secrecy::ExposeSecret;

use crate::Config;
use crate::admin::issue_api_key;
use crate::store::ApiKeyRole;

#[derive(Subcommand)]
pub enum ApiKeyCommand {
    /// Create a key and print it (it is shown only this once).
    Create {
        #[arg(long)]
        name: String,
        #[arg(long, value_enum)]
        role: Role,
    },
    /// Revoke the key with this id, or every key with this name.
    Revoke {
        /// Key id or name.
        key: String,
    },
    /// List keys (never their secrets).
    List,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Role {
    Admin,
    Introspect,
}

impl From<Role> for ApiKeyRole {
    fn from(role: Role) -> Self {
        match role {
            Role::Admin => Self::Admin,
            Role::Introspect => Self::Introspect,
        }
    }
}

pub async fn run(config: &Config, command: ApiKeyCommand, now: i64) -> anyhow::Result<()> {
    let db = super::connect(config).await?;
    match command {
        ApiKeyCommand::Create { name, role } => {
            let issued = issue_api_key(&db, &name, role.into(), now).await?;
            eprintln!(
                "created API key {} ({}, role {}); store it now, it is not shown again:",
                issued.record.id,
                issued.record.name,
                issued.record.role.as_str()
            );
            println!("{}", issued.key.expose_secret());
        }
        ApiKeyCommand::Revoke { key } => match db.revoke_api_keys(&key, true, now).await? {
            0 => anyhow::bail!("no API key has the id or name {key:?}"),
            count => println!("revoked {count} API key(s)"),
        },
        ApiKeyCommand::List => {
            for key in db.list_api_keys().await? {
                let state = match key.revoked_at {
                    Some(at) => format!("revoked {}", crate::rfc3339(at)),
                    None => "live".to_owned(),
                };
                println!(
                    "{}\t{}\t{}\t{}\t{state}",
                    key.id,
                    key.name,
                    key.role.as_str(),
                    crate::rfc3339(key.created_at)
                );
            }
        }
    }
    db.close().await;
    Ok(())
}
