//! `karmadactl get clusters [NAME...]`

use clap::Args;
use karmadactl::ops::get::{self, GetOptions};
use karmadactl::output::{self, Format};

use crate::GlobalArgs;

/// Display member clusters
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    karmadactl get clusters\n  \
    karmadactl get clusters -o wide\n  \
    karmadactl get cluster member1 -o yaml\n  \
    karmadactl get clusters -l region=eu -o name\n  \
    karmadactl get clusters --watch")]
pub struct GetArgs {
    /// Resource type: clusters (also cluster, clusters.cluster.karmada.io)
    #[arg(value_name = "TYPE")]
    pub resource: String,

    /// Cluster names; all clusters when none are given
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,

    /// Output format: wide adds endpoint, provider, region, zones, taints and nodes (ready/total)
    #[arg(short, long, value_enum, value_name = "FORMAT")]
    pub output: Option<Format>,

    /// Label selector, e.g. -l region=eu,env!=test
    #[arg(short = 'l', long, value_name = "SELECTOR")]
    pub selector: Option<String>,

    /// After listing, print a row for every change until interrupted (Ctrl-C)
    #[arg(short, long)]
    pub watch: bool,
}

/// Accepts the names kubectl accepts for the Cluster resource.
pub fn check_resource(resource: &str, command: &str) -> anyhow::Result<()> {
    match resource {
        "cluster" | "clusters" | "cluster.cluster.karmada.io" | "clusters.cluster.karmada.io" => {
            Ok(())
        }
        other => anyhow::bail!(
            "unsupported resource type {other:?}; karmadactl {command} supports: clusters"
        ),
    }
}

/// A cluster name must be a DNS label (as the Cluster CRD requires).
pub fn check_name(name: &str) -> anyhow::Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if !ok {
        anyhow::bail!(
            "invalid cluster name {name:?}: use lowercase letters, digits and '-', starting and \
             ending with a letter or digit"
        );
    }
    Ok(())
}

impl GetArgs {
    fn validate(&self) -> anyhow::Result<GetOptions> {
        check_resource(&self.resource, "get")?;
        for name in &self.names {
            check_name(name)?;
        }
        if self.selector.is_some() && !self.names.is_empty() {
            anyhow::bail!("name cannot be provided when a selector is specified");
        }
        if let Some(sel) = &self.selector
            && sel.trim().is_empty()
        {
            anyhow::bail!("empty label selector; pass e.g. -l region=eu");
        }
        Ok(GetOptions {
            names: self.names.clone(),
            selector: self.selector.clone(),
            format: self.output.unwrap_or_default(),
        })
    }
}

pub async fn run(args: GetArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    let opts = args.validate()?;
    let target = global.target();
    let listing = get::list(&target, &opts).await?;
    let rendered = listing.render(opts.format)?;
    output::print(&rendered.stdout);
    if let Some(note) = &rendered.stderr {
        eprintln!("{note}");
    }
    if !listing.missing.is_empty() {
        return Err(get::not_found_all(&listing.missing).into());
    }
    if args.watch {
        tokio::select! {
            result = get::watch(&target, &opts, &listing, output::print) => result?,
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(resource: &str, names: &[&str], selector: Option<&str>) -> GetArgs {
        GetArgs {
            resource: resource.into(),
            names: names.iter().map(|n| n.to_string()).collect(),
            output: None,
            selector: selector.map(String::from),
            watch: false,
        }
    }

    #[test]
    fn validation() {
        assert!(args("clusters", &[], None).validate().is_ok());
        assert!(args("cluster", &["member1"], None).validate().is_ok());
        assert!(args("pods", &[], None).validate().is_err());
        assert!(args("clusters", &["Bad_Name"], None).validate().is_err());
        let err = args("clusters", &["a"], Some("x=y"))
            .validate()
            .unwrap_err();
        assert!(err.to_string().contains("selector"));
    }
}
