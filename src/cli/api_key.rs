//! `sesame api-key create|set-role|revoke|list`.

use std::sync::Arc;

use clap::{Subcommand, ValueEnum};
use secrecy::ExposeSecret;

use crate::admin::ApiKeys;
use crate::domain::Actor;
use crate::store::ApiKeyRole;
use crate::{Clock, Config, Error};

#[derive(Subcommand)]
pub enum ApiKeyCommand {
    /// Create a key and print it (it is shown only this once).
    Create {
        #[arg(long)]
        name: String,
        #[arg(long, value_enum)]
        role: Role,
    },
    /// Give the live key with this id another role (`api-key list` shows the ids).
    SetRole {
        /// Key id.
        id: String,
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
    /// The admin console, read-only.
    Auditor,
}

impl From<Role> for ApiKeyRole {
    fn from(role: Role) -> Self {
        match role {
            Role::Admin => Self::Admin,
            Role::Introspect => Self::Introspect,
            Role::Auditor => Self::Auditor,
        }
    }
}

pub async fn run(config: &Config, command: ApiKeyCommand, clock: &Clock) -> anyhow::Result<()> {
    let db = super::connect(config).await?;
    let keys = ApiKeys::new(db.clone(), Arc::new(config.clone()), clock.clone());
    let result = execute(&keys, command, clock.now()).await;
    db.close().await;
    result
}

async fn execute(keys: &ApiKeys, command: ApiKeyCommand, now: i64) -> anyhow::Result<()> {
    match command {
        ApiKeyCommand::Create { name, role } => {
            let issued = keys
                .create(&Actor::Cli, None, &name, role.into(), now)
                .await
                .map_err(super::cause)?;
            eprintln!(
                "created API key {} ({}, role {}); store it now, it is not shown again:",
                issued.record.id,
                issued.record.name,
                issued.record.role.as_str()
            );
            println!("{}", issued.key.expose_secret());
        }
        ApiKeyCommand::SetRole { id, role } => {
            match keys
                .set_role(&Actor::Cli, None, &id, role.into(), now)
                .await
            {
                Ok(record) => println!(
                    "API key {} ({}) has role {}",
                    record.id,
                    record.name,
                    record.role.as_str()
                ),
                Err(Error::NotFound) => anyhow::bail!("no live API key has the id {id:?}"),
                Err(err) => return Err(super::cause(err)),
            }
        }
        ApiKeyCommand::Revoke { key } => {
            match keys
                .revoke_by_id_or_name(&Actor::Cli, None, &key, now)
                .await
            {
                Ok(count) => println!("revoked {count} API key(s)"),
                Err(Error::NotFound) => anyhow::bail!("no API key has the id or name {key:?}"),
                Err(err) => return Err(super::cause(err)),
            }
        }
        ApiKeyCommand::List => {
            for key in keys.list().await.map_err(super::cause)? {
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
    Ok(())
}
