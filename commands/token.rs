//! `karmadactl token create|list|delete`

use std::time::Duration;

use clap::{Args, Subcommand};
use karmadactl::ops::token::{self, TokenOptions};
use karmadactl::output;

use crate::GlobalArgs;

/// Manage bootstrap tokens for registering clusters in pull mode
#[derive(Debug, Args)]
#[command(
    long_about = "Manage bootstrap tokens for registering clusters in pull mode.\n\n\
    A bootstrap token (a kube-system/bootstrap-token-ID Secret in the control plane) lets \
    `karmadactl register`, run against a member, ask the control plane for its agent's client \
    certificate, and nothing else: its group system:bootstrappers:karmada:default-cluster-token \
    may only create certificate signing requests. The control plane's kube-apiserver needs \
    --enable-bootstrap-token-auth (init sets it).",
    after_help = "Examples:\n  \
    karmadactl token create --print-register-command\n  \
    karmadactl token create --ttl 2h --description 'for edge-7'\n  \
    karmadactl token list\n  \
    karmadactl token delete abcdef"
)]
pub struct TokenArgs {
    #[command(subcommand)]
    pub command: TokenCommand,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    Create(CreateArgs),
    List(ListArgs),
    Delete(DeleteArgs),
}

/// Create a bootstrap token (and the RBAC and kube-public/cluster-info register needs)
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Print the whole `karmadactl register` command instead of only the token
    #[arg(long)]
    pub print_register_command: bool,

    /// How long the token is valid (e.g. 24h, 30m); 0 never expires
    #[arg(long, default_value = "24h", value_parser = karmadactl::duration::parse)]
    pub ttl: Duration,

    /// A note kept with the token (shown by `token list`)
    #[arg(long, default_value = "")]
    pub description: String,

    /// Groups the token authenticates as (each starting with system:bootstrappers:)
    #[arg(long, value_delimiter = ',', default_value = token::DEFAULT_GROUP)]
    pub groups: Vec<String>,
}

/// List bootstrap tokens (never their secrets)
#[derive(Debug, Args)]
pub struct ListArgs {}

/// Delete a bootstrap token
#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// Token id, or the whole token (ID.SECRET)
    #[arg(value_name = "TOKEN")]
    pub token: String,
}

pub async fn run(args: TokenArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    match args.command {
        TokenCommand::Create(a) => {
            if let Err(e) = token::validate_groups(&a.groups) {
                usage!("{e}");
            }
            let target = global.target();
            let config = target.config(None).await?;
            let cp = target.client().await?;
            let opts = TokenOptions {
                ttl: a.ttl,
                description: a.description,
                groups: a.groups,
            };
            let created = token::create(&cp, &config, &opts).await?;
            if a.print_register_command {
                output::print(&format!(
                    "{}\n",
                    created.register_command(crate::program_name())
                ));
            } else {
                output::print(&format!("{}\n", created.token));
            }
        }
        TokenCommand::List(_) => {
            let cp = global.target().client().await?;
            let tokens = token::list(&cp).await?;
            let rows = tokens.into_iter().map(|t| {
                vec![
                    t.id,
                    token::ttl_left(t.expires.as_deref()),
                    t.expires.unwrap_or_else(|| "<never>".into()),
                    t.usages.join(","),
                    if t.description.is_empty() {
                        "<none>".into()
                    } else {
                        t.description
                    },
                    t.groups.join(","),
                ]
            });
            output::print(&output::table(
                &[
                    "TOKEN",
                    "TTL",
                    "EXPIRES",
                    "USAGES",
                    "DESCRIPTION",
                    "EXTRA GROUPS",
                ],
                rows,
            ));
        }
        TokenCommand::Delete(a) => {
            if let Err(e) = token::token_id(&a.token) {
                usage!("{e}");
            }
            let cp = global.target().client().await?;
            let id = token::delete(&cp, &a.token).await?;
            output::print(&format!("bootstrap token {id:?} deleted\n"));
        }
    }
    Ok(())
}
