//! `sesame tokens revoke --sub|--sid|--jti`.

use clap::{Args, Subcommand};

use crate::admin::Sessions;
use crate::domain::Actor;
use crate::store::RevokeTarget;
use crate::{Config, Error};

#[derive(Subcommand)]
pub enum TokensCommand {
    /// Revoke every session of an identity, one session, or one token (at once, everywhere).
    Revoke(RevokeArgs),
}

#[derive(Args)]
#[group(required = true, multiple = false)]
pub struct RevokeArgs {
    /// Every session of this identity (the JWT `sub`).
    #[arg(long)]
    sub: Option<String>,
    /// This session (the JWT `sid`) and every token issued in it.
    #[arg(long)]
    sid: Option<String>,
    /// This token only (the JWT `jti`).
    #[arg(long)]
    jti: Option<String>,
}

pub async fn run(config: &Config, command: TokensCommand, now: i64) -> anyhow::Result<()> {
    let TokensCommand::Revoke(args) = command;
    let target = match (&args.sub, &args.sid, &args.jti) {
        (Some(sub), _, _) => RevokeTarget::Identity(sub),
        (_, Some(sid), _) => RevokeTarget::Session(sid),
        (_, _, Some(jti)) => RevokeTarget::Token(jti),
        _ => anyhow::bail!("one of --sub, --sid or --jti is required"),
    };
    let db = super::connect(config).await?;
    let revoked = Sessions::new(db.clone())
        .revoke(&Actor::Cli, None, target, now)
        .await;
    db.close().await;
    match revoked {
        Ok(()) => {
            println!("revoked {} {}", target.scope(), target.id());
            Ok(())
        }
        Err(Error::NotFound) => {
            anyhow::bail!("no {} has the id {:?}", target.scope(), target.id())
        }
        Err(err) => Err(super::cause(err)),
    }
}
