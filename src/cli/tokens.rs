//! `sesame tokens revoke --sub|--sid|--jti`.

use clap::{Args, Subcommand};

use crate::Config;
use crate::store::RevokeTarget;
use crate::tokens::revoke;

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
    let found = revoke(&db, target, "admin", "cli", None, now).await;
    db.close().await;
    if !found? {
        anyhow::bail!("no {} has the id {:?}", target.scope(), target.id());
    }
    println!("revoked {} {}", target.scope(), target.id());
    Ok(())
}
