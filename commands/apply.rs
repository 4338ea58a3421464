//! `karmadactl apply -f FILE [--all-clusters | -C member1,member2]`

use std::path::PathBuf;

use clap::Args;
use clap_complete::engine::ArgValueCompleter;
use karmadactl::ops::apply::{self, ApplyOptions, Propagate};
use karmadactl::output;

use crate::GlobalArgs;
use crate::get::check_name;

/// Apply resource templates to the control plane and, with a placement, propagate them
#[derive(Debug, Args)]
#[command(
    long_about = "Apply resource templates to the control plane and, with a placement, propagate them.\n\n\
    Every object in the files is server-side applied to the control plane (field manager \
    karmadactl). With --all-clusters or -C, each namespaced object also gets a \
    PropagationPolicy named <name>-<kind> (lowercase) in its namespace, selecting exactly that \
    object and placing it in every member cluster or in the ones named. Without them it is a \
    plain server-side apply, like kubectl apply --server-side. Objects in namespaces reserved \
    for Karmada (karmada-system, karmada-cluster, karmada-es-*) are refused with a placement, \
    and nothing is written when any object is refused.",
    after_help = "Examples:\n  \
    karmadactl apply -f nginx.yaml --all-clusters\n  \
    karmadactl apply -f deploy.yaml -f service.yaml -n shop -C member1,member2\n  \
    cat nginx.yaml | karmadactl apply -f - -C member1\n  \
    karmadactl apply -f nginx.yaml"
)]
pub struct ApplyArgs {
    /// Files with the objects to apply (YAML or JSON, several documents each); - for stdin
    #[arg(short, long = "filename", value_name = "FILE", required = true, value_hint = clap::ValueHint::FilePath)]
    pub filename: Vec<PathBuf>,

    /// Namespace for objects that do not name one (default: the kubeconfig context's namespace)
    #[arg(short, long, value_name = "NAMESPACE")]
    pub namespace: Option<String>,

    /// Propagate every object to all member clusters
    #[arg(long, conflicts_with = "clusters")]
    pub all_clusters: bool,

    /// Propagate every object to these member clusters (comma-separated)
    #[arg(short = 'C', long = "cluster", value_delimiter = ',', value_name = "CLUSTER", add = ArgValueCompleter::new(crate::cluster_completer::cluster_names))]
    pub clusters: Vec<String>,

    /// Take over fields another field manager owns instead of failing
    #[arg(long)]
    pub force_conflicts: bool,
}

impl ApplyArgs {
    fn validate(&self) -> anyhow::Result<ApplyOptions> {
        for c in &self.clusters {
            check_name(c)?;
        }
        let propagate = if self.all_clusters {
            Propagate::AllClusters
        } else if self.clusters.is_empty() {
            Propagate::No
        } else {
            let mut c = self.clusters.clone();
            c.dedup();
            Propagate::Clusters(c)
        };
        Ok(ApplyOptions {
            files: self.filename.clone(),
            namespace: self.namespace.clone(),
            propagate,
            force_conflicts: self.force_conflicts,
        })
    }
}

pub async fn run(args: ApplyArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    let opts = args.validate()?;
    let (lines, notes) = apply::apply(&global.target(), &opts).await?;
    for note in notes {
        eprintln!("note: {note}");
    }
    output::print(&lines.iter().map(|l| format!("{l}\n")).collect::<String>());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(all: bool, clusters: &[&str]) -> ApplyArgs {
        ApplyArgs {
            filename: vec!["x.yaml".into()],
            namespace: None,
            all_clusters: all,
            clusters: clusters.iter().map(|c| c.to_string()).collect(),
            force_conflicts: false,
        }
    }

    #[test]
    fn placement_flags() {
        assert_eq!(
            args(false, &[]).validate().unwrap().propagate,
            Propagate::No
        );
        assert_eq!(
            args(true, &[]).validate().unwrap().propagate,
            Propagate::AllClusters
        );
        assert_eq!(
            args(false, &["member1"]).validate().unwrap().propagate,
            Propagate::Clusters(vec!["member1".into()])
        );
        assert!(args(false, &["Bad_Name"]).validate().is_err());
    }
}
