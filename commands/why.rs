//! `karmadactl why KIND NAME`

use clap::Args;
use karmadactl::ops::why;
use karmadactl::output::{self, DocFormat};

use crate::GlobalArgs;

/// Explain where a resource template goes and why: policy, clusters, replicas, overrides, apply
#[derive(Debug, Args)]
#[command(
    long_about = "Explain where a resource template goes and why, in one view.\n\n\
    Answers \"my policy has no effect\": which PropagationPolicy or ClusterPropagationPolicy \
    claims the template (or, when none does, which selectors came close and why they miss: \
    wrong kind, wrong namespace, name mismatch, labels), which other policies it beat and why \
    (PropagationPolicy before ClusterPropagationPolicy, priority, match closeness, name, claimed \
    earlier), each cluster's fit or rejection (affinity, taints, readiness, spread constraints; \
    the scheduler's own logic re-run on the current Clusters), the replica arithmetic \
    (Duplicated or Divided, weights, result per cluster), the override rules and changed fields \
    per cluster, and the last apply result per cluster (Work Applied condition, conflicts, \
    health, cluster Ready). KIND is resolved like kubectl does (deploy, deployment, \
    deployments.apps, Deployment, configmap, any CRD). Everything is read from the control \
    plane; members are not contacted.",
    after_help = "Examples:\n  \
    karmadactl why deployment nginx\n  \
    karmadactl why deploy web -n shop\n  \
    karmadactl why configmap settings -n shop -o json\n  \
    karmadactl why widgets.example.com gizmo -o yaml"
)]
pub struct WhyArgs {
    /// Resource type: deployment, deploy, deployments.apps, configmap, a CRD kind or plural
    #[arg(value_name = "KIND")]
    pub kind: String,

    /// Name of the resource template in the control plane
    #[arg(value_name = "NAME")]
    pub name: String,

    /// Namespace (default: the namespace of the control plane's kubeconfig context)
    #[arg(short, long, value_name = "NAMESPACE")]
    pub namespace: Option<String>,

    /// Print the same facts as structured data
    #[arg(short, long, value_enum, value_name = "FORMAT")]
    pub output: Option<DocFormat>,
}

impl WhyArgs {
    fn validate(&self) -> anyhow::Result<()> {
        if self.kind.is_empty() || self.kind.contains('/') {
            usage!(
                "invalid resource type {:?}; pass a type then a name, e.g. karmadactl why deployment nginx",
                self.kind
            );
        }
        if self.name.is_empty() || self.name.contains('/') {
            usage!("invalid name {:?}", self.name);
        }
        Ok(())
    }
}

pub async fn run(args: WhyArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    args.validate()?;
    let explanation = why::why(
        &global.target(),
        &args.kind,
        &args.name,
        args.namespace.as_deref(),
    )
    .await?;
    let text = match args.output {
        Some(f) => output::document(&explanation, f)?,
        None => why::render_text(&explanation),
    };
    output::print(&text);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_and_name_are_checked() {
        let a = |k: &str, n: &str| WhyArgs {
            kind: k.into(),
            name: n.into(),
            namespace: None,
            output: None,
        };
        assert!(a("deploy", "nginx").validate().is_ok());
        assert!(a("deploy/nginx", "x").validate().is_err());
        assert!(a("deploy", "").validate().is_err());
    }
}
