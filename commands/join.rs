//! `karmadactl join`

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use karmadactl::ops::join::{self, JoinOptions};
use karmadactl::output::{self, DocFormat};

use crate::GlobalArgs;

/// Register a member cluster with the control plane (push mode)
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    karmadactl join member1 --cluster-kubeconfig=$HOME/.kube/karmada.config\n  \
    karmadactl join member2 --cluster-kubeconfig=member2.config --cluster-context=kind-member2 --cluster-region=eu-west\n  \
    karmadactl join member1 --cluster-kubeconfig=member1.config --dry-run -o yaml\n  \
    karmadactl join member1 --cluster-kubeconfig=member1.config --cluster-namespace=karmada-creds --karmada-as=alice")]
pub struct JoinArgs {
    /// Name of the member cluster in the control plane
    pub name: String,

    /// Kubeconfig of the member cluster
    #[arg(long, value_name = "PATH", value_hint = clap::ValueHint::FilePath)]
    pub cluster_kubeconfig: PathBuf,

    /// Context in --cluster-kubeconfig (default: a context named NAME, else the current one)
    #[arg(long, value_name = "CONTEXT")]
    pub cluster_context: Option<String>,

    /// Cloud provider of the member cluster
    #[arg(long, default_value = "")]
    pub cluster_provider: String,

    /// Region of the member cluster
    #[arg(long, default_value = "")]
    pub cluster_region: String,

    /// Zones of the member cluster (comma-separated)
    #[arg(long, value_delimiter = ',')]
    pub cluster_zones: Vec<String>,

    /// Check everything and print what would be created, without changing anything
    #[arg(long)]
    pub dry_run: bool,

    /// Output format of --dry-run
    #[arg(short, long, value_enum, requires = "dry_run")]
    pub output: Option<DocFormat>,

    /// How long to wait for the cluster to become Ready (0 to not wait)
    #[arg(long, default_value = "120", value_name = "SECONDS")]
    pub wait_timeout: u64,

    /// Namespace of the member's credentials, in the control plane and in the member
    #[arg(long, default_value = "karmada-cluster", value_name = "NAMESPACE")]
    pub cluster_namespace: String,

    /// User to impersonate in the control plane (like kubectl --as)
    #[arg(long, value_name = "USER")]
    pub karmada_as: Option<String>,

    /// Group to impersonate in the control plane (repeatable)
    #[arg(long, value_name = "GROUP", requires = "karmada_as")]
    pub karmada_as_group: Vec<String>,

    /// UID to impersonate in the control plane
    #[arg(long, value_name = "UID", requires = "karmada_as")]
    pub karmada_as_uid: Option<String>,
}

/// The control-plane client, impersonating as --karmada-as* ask.
pub async fn impersonating(
    target: &karmadactl::client::connect::Target,
    user: Option<&str>,
    groups: &[String],
    uid: Option<&str>,
) -> anyhow::Result<kube::Client> {
    let Some(user) = user else {
        return Ok(target.client().await?);
    };
    let mut config = target.config(None).await?;
    config.auth_info.impersonate = Some(user.to_string());
    if !groups.is_empty() {
        config.auth_info.impersonate_groups = Some(groups.to_vec());
    }
    config.auth_info.impersonate_uid = uid.map(String::from);
    Ok(kube::Client::try_from(config)?)
}

pub async fn run(args: JoinArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    crate::get::check_name(&args.name)?;
    let opts = JoinOptions {
        name: args.name.clone(),
        member_kubeconfig: args.cluster_kubeconfig,
        member_context: args.cluster_context,
        provider: args.cluster_provider,
        region: args.cluster_region,
        zones: args.cluster_zones,
        dry_run: args.dry_run,
        cluster_namespace: Some(args.cluster_namespace.clone()),
    };
    if !karmadactl::install::manifests::is_dns_subdomain(&args.cluster_namespace)
        || args.cluster_namespace.contains('.')
    {
        usage!(
            "--cluster-namespace {:?} is not a namespace name",
            args.cluster_namespace
        );
    }
    let target = global.target();
    let cp = impersonating(
        &target,
        args.karmada_as.as_deref(),
        &args.karmada_as_group,
        args.karmada_as_uid.as_deref(),
    )
    .await?;
    let (plan, member, ca) = join::plan(&cp, &target, &opts).await?;
    if opts.dry_run {
        let text = match args.output {
            Some(f) => output::document(&plan, f)?,
            None => format!(
                "would join cluster {} (context {:?}, endpoint {}, id {})\nin the member: {}\nin the control plane: {}\n",
                plan.cluster,
                plan.member_context,
                plan.api_endpoint,
                plan.cluster_id,
                plan.member_objects.join(", "),
                plan.control_plane_objects.join(", ")
            ),
        };
        output::print(&text);
        return Ok(());
    }
    // From here on Ctrl-C does not kill the process outright: the first one stops the join,
    // which removes what it created (no ServiceAccount, token or Cluster is left behind); a
    // second one exits at once.
    let interrupted = std::sync::Arc::new(tokio::sync::Notify::new());
    let notify = interrupted.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_err() {
            return;
        }
        eprintln!("interrupted: undoing the join (Ctrl-C again to quit at once)");
        notify.notify_one();
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("interrupted again: quitting; what join created may be left behind");
            std::process::exit(130);
        }
    });
    join::join_until(&cp, &plan, &member, ca, &opts, interrupted.notified()).await?;
    if args.wait_timeout > 0 {
        let spinner = crate::progress::spinner(&format!(
            "waiting for cluster {} to become Ready",
            plan.cluster
        ));
        let waited = tokio::select! {
            w = join::wait_ready(&cp, &plan.cluster, Duration::from_secs(args.wait_timeout)) => w,
            () = interrupted.notified() => Err(karmadactl::Error::Interrupted(format!(
                "cluster {} is joined; stopped waiting for it to become Ready",
                plan.cluster
            ))),
        };
        spinner.finish_and_clear();
        waited?;
    }
    output::print(&format!(
        "cluster({}) is joined successfully\n",
        plan.cluster
    ));
    Ok(())
}
